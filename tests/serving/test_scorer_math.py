import numpy as np
import pytest

from tailsynth.serving.endpoint_scorer import label_logits_from_top
from tailsynth.serving.errors import LMOutputError
from tailsynth.serving.local_scorer import common_prefix_length
from tailsynth.serving.scorer import softmax


def test_softmax_rows_sum_to_one_and_are_stable():
    p = softmax(np.array([[1000.0, 1000.0], [0.0, np.log(3.0)]]))
    assert np.allclose(p, [[0.5, 0.5], [0.25, 0.75]])


def test_common_prefix_leaves_each_sequence_a_token():
    assert common_prefix_length([[1, 2, 3, 4], [1, 2, 3, 5]]) == 3
    assert common_prefix_length([[1, 2, 3], [1, 2, 3, 4]]) == 2
    assert common_prefix_length([[9, 2], [1, 2]]) == 0


def test_label_logits_take_the_longest_matching_token():
    top = [("yes", -0.1), ("Yes", -0.5), ("y", -3.0), ("no", -2.0), ("maybe", -4.0)]
    assert label_logits_from_top(top, ("yes", "no")) == [-0.1, -2.0]


def test_missing_label_scores_below_everything_returned():
    scores = label_logits_from_top([("no", -1.0), ("world", -2.0)], ("yes", "no"))
    assert scores[1] == -1.0 and scores[0] < -2.0


def test_no_label_in_top_k_is_an_error_not_fifty_fifty():
    with pytest.raises(LMOutputError, match="no label"):
        label_logits_from_top([("hello", -1.0), ("world", -2.0)], ("yes", "no"))


def test_labels_match_case_insensitively_with_leading_spaces():
    assert label_logits_from_top([(" Yes", -0.3), ("NO", -1.2)], ("yes", "no")) == [-0.3, -1.2]
    assert label_logits_from_top([("Ġyes", -0.4), ("▁No", -0.9)], ("yes", "no")) == [-0.4, -0.9]
    # the label's own spelling wins where the server returned it (what the local scorer reads)
    assert label_logits_from_top([("Yes", -0.2), ("yes", -0.7), ("no", -2.0)], ("yes", "no")) == [-0.7, -2.0]
