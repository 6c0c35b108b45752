"""Many ``dspy.Predict`` calls at once, with LM failures kept apart from unparsable answers.

``dspy.Predict.batch`` turns every exception into ``None``, so an endpoint that is down looks
exactly like an answer that did not parse, and a stage would commit an empty result with its
progress markers. Here an LM failure (connection, timeout, 5xx after litellm's retries) raises
``LMUnavailable`` for the whole batch; a parse failure comes back as the ``AdapterParseError``
in that input's slot, and each caller decides what an unparsed answer means for it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import dspy
import httpx
import openai
from dspy.utils.exceptions import AdapterParseError
from dspy.utils.exceptions import LMError as DSPyLMError

from tailsynth.serving.errors import LMError, LMUnavailable, one_line

LM_FAILURES = (DSPyLMError, openai.OpenAIError, httpx.HTTPError, ConnectionError, TimeoutError, OSError)
"""What an LM client raises when the server is down, hangs, or answers with an error status
(``dspy.LM``'s own transport raises ``dspy.utils.exceptions.LMError``; litellm's exceptions
derive from ``openai.OpenAIError``)."""


def predict_all(
    predict: dspy.Predict, inputs: list[dict], lm: dspy.BaseLM, adapter: dspy.Adapter, threads: int = 16
) -> list[dspy.Prediction | AdapterParseError]:
    """One prediction per input, in order; concurrent, so a local backend batches them."""

    def one(x: dict) -> dspy.Prediction | AdapterParseError:
        try:
            with dspy.context(lm=lm, adapter=adapter):
                return predict(**x)
        except AdapterParseError as err:
            return err

    if not inputs:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(inputs)))) as pool:
        futures = [pool.submit(one, x) for x in inputs]
        results, failure = [], None
        for future in futures:
            try:
                results.append(future.result())
            except LMError as err:
                failure = failure or err
            except LM_FAILURES as err:
                failure = failure or LMUnavailable(
                    f"{getattr(lm, 'model', type(lm).__name__)}: {type(err).__name__}: {one_line(err)}")
                failure.__cause__ = err
    if failure is not None:
        raise failure
    return results
