"""Dense-retriever trainer: baseline data vs baseline + synthetic pairs (the paper's Table 1 setup).

A plain torch loop over a sentence-transformers model with in-batch negatives InfoNCE
(``losses.py``). Why a hand-written loop and not ``SentenceTransformerTrainer``: the comparison
the paper makes is only fair when both recipes take the *same number of steps over batches of the
same size*; here that is a property of one function (``plan_batches``), which tests check, instead
of an emergent property of dataset lengths and samplers. It also keeps the loop dependency-free
(no ``datasets``) and resumable from a checkpoint holding model, optimizer, scheduler and step.

Mixing: with recipe ``baseline+synthetic`` every batch holds ``round(synthetic_ratio * batch_size)``
synthetic rows and the rest baseline rows; recipe ``baseline`` fills the batch with baseline rows.
Within a batch no query text and no positive text repeats (they would be false in-batch negatives,
as sentence-transformers' ``NoDuplicatesBatchSampler`` avoids too).

Output: ``out_dir/model`` is a sentence-transformers directory (``Encoder(path)`` loads it) with
``tailsynth_train.json`` beside the weights; calling again with the same config and data returns
it without training. Loss per step goes to the store's ``train_log`` and ``out_dir/loss.png``.

Dev curve: given a ``dev_metric`` (a callable of the model in training returning named metrics,
e.g. ``evals.dev_curve.DevCurve``, Item Goodrate on judged dev queries), the trainer calls it
before the first step and every ``dev_every`` steps; the points go to ``train_log`` (``dev:<name>``),
``out_dir/dev_curve.json`` and ``tailsynth_train.json``. It shows whether a recipe is still
improving when its steps run out (a starved baseline would make any gain look larger).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import shutil
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import torch

from tailsynth.optim import adamw
from tailsynth.progress import work_progress
from tailsynth.retrieval.losses import InBatchNegativesLoss
from tailsynth.store import reads

Recipe = Literal["baseline", "baseline+synthetic"]
RECIPES = ("baseline", "baseline+synthetic")
TRAIN_META = "tailsynth_train.json"

# (query, positive text) and (query, positive text, hard-negative texts)
BaselinePair = tuple[str, str]
SyntheticPair = tuple[str, str, list[str]]


@dataclass
class RetrieverTrainConfig:
    """Everything that decides the trained weights (serialised next to them and into ``runs``)."""

    base_model: str | None = None  # None: packaged all-MiniLM-L6-v2
    recipe: Recipe = "baseline"
    steps: int = 300  # optimizer steps; identical across recipes for a fair comparison
    batch_size: int = 32  # rows per micro-batch (in-batch negatives come from these)
    grad_accum: int = 1  # micro-batches per optimizer step
    lr: float = 5e-5
    warmup_ratio: float = 0.1  # linear warmup, then linear decay to 0
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    temperature: float = 0.05  # = sentence-transformers scale 20
    hard_negatives: bool = True  # use synthetic rows' rejected candidates as extra negatives
    negatives_per_row: int = 1
    synthetic_ratio: float = 0.5  # share of each batch drawn from synthetic pairs (mixed recipe)
    max_seq_length: int = 64
    seed: int = 0
    bf16: bool = True  # autocast to bfloat16 on CUDA; ignored on CPU
    device: str | None = None  # None: cuda when available, else cpu
    checkpoint_every: int = 100
    dev_every: int = 0  # steps between dev-metric points (0: no dev curve); the runner measures it on dev queries
    dev_queries_per_type: int = 25  # the runner's dev curve: judged dev queries of each type of the chain source
    out_dir: str = ".cache/tailsynth/retrievers/baseline"
    run_id: str | None = None  # None: derived from config + data fingerprint
    show_progress: bool = True

    def __post_init__(self) -> None:
        if self.recipe not in RECIPES:
            raise ValueError(f"recipe must be one of {RECIPES}, got {self.recipe!r}")
        if self.steps < 1 or self.batch_size < 2 or self.grad_accum < 1:
            raise ValueError("steps >= 1, batch_size >= 2 and grad_accum >= 1 are required")
        if not 0.0 < self.synthetic_ratio < 1.0:
            raise ValueError(f"synthetic_ratio must be in (0, 1), got {self.synthetic_ratio}")

    def weights_key(self) -> dict:
        """The fields that change the weights (not where they go, what they are logged as, or UI)."""
        skip = {"out_dir", "run_id", "show_progress", "checkpoint_every", "device", "dev_every", "dev_queries_per_type"}
        return {k: v for k, v in asdict(self).items() if k not in skip}


# ------------------------------------------------------------------------------------ data
def plan_batches(
    baseline_keys: Sequence[tuple[str, str]],
    synthetic_keys: Sequence[tuple[str, str]] | None,
    n_batches: int,
    batch_size: int,
    synthetic_ratio: float,
    seed: int,
) -> list[list[tuple[str, int]]]:
    """Every micro-batch of a run, as ``(source, row index)`` lists, decided before training.

    ``*_keys`` are ``(query text, positive text)`` per row. Each source is read in shuffled epochs
    (seeded); a row whose query or positive already sits in the batch is deferred to a later batch.
    Every batch has exactly ``batch_size`` rows whatever the recipe: that is the fair-comparison
    guarantee. Deterministic in its arguments, so a resumed run replays the same batches.
    """
    n_syn = round(synthetic_ratio * batch_size) if synthetic_keys else 0
    quotas = [("baseline", batch_size - n_syn)] + ([("synthetic", n_syn)] if n_syn else [])
    sources = {"baseline": baseline_keys, "synthetic": synthetic_keys or []}
    for name, quota in quotas:
        if len(sources[name]) < quota:
            raise ValueError(f"{len(sources[name])} {name} rows cannot fill {quota} per batch")
    streams = {name: _Stream(len(sources[name]), seed + i) for i, (name, _) in enumerate(quotas)}
    batches = []
    for _ in range(n_batches):
        batch: list[tuple[str, int]] = []
        seen_q: set[str] = set()
        seen_p: set[str] = set()
        for name, quota in quotas:
            stream, keys, taken, skipped = streams[name], sources[name], 0, []
            # at most one full pass looking for rows that fit; if none do, accept duplicates
            for _ in range(len(keys)):
                if taken == quota:
                    break
                i = stream.next()
                q, p = keys[i]
                if q in seen_q or p in seen_p:
                    skipped.append(i)
                    continue
                batch.append((name, i))
                seen_q.add(q)
                seen_p.add(p)
                taken += 1
            while taken < quota:  # tiny or highly duplicated data: fill anyway
                batch.append((name, skipped.pop(0) if skipped else stream.next()))
                taken += 1
            stream.defer(skipped)
        batches.append(batch)
    return batches


class _Stream:
    """Shuffled epochs over ``range(n)`` with a queue of deferred indices served first."""

    def __init__(self, n: int, seed: int):
        self.n, self.rng, self.order, self.pending = n, random.Random(seed), deque(), deque()

    def next(self) -> int:
        if self.pending:
            return self.pending.popleft()
        if not self.order:
            perm = list(range(self.n))
            self.rng.shuffle(perm)
            self.order.extend(perm)
        return self.order.popleft()

    def defer(self, indices: list[int]) -> None:
        self.pending.extend(indices)


def data_fingerprint(baseline: Sequence[BaselinePair], synthetic: Sequence[SyntheticPair] | None) -> str:
    digest = hashlib.sha256()
    for row in baseline:
        digest.update(("\x00".join(row) + "\x01").encode())
    digest.update(b"\x02synthetic")
    for q, p, negs in synthetic or []:
        digest.update(("\x00".join([q, p, *negs]) + "\x01").encode())
    return digest.hexdigest()[:16]


def pairs_from_store(
    store, run_id: str, max_negatives: int = 4, max_negative_rank: int = 50
) -> list[tuple[str, str, list[str]]]:
    """Kept pairs of a synthesis run as ``(query text, product id, hard-negative ids)``.

    Hard negatives of a query are its candidates a relevance stage rejected (``decided_by``
    business or general; never the ones the per-query cap left unjudged) that the ANN still
    ranked well (``ann_rank <= max_negative_rank``), best rank first, at most ``max_negatives``.
    Pairs not yet judged (``kept IS NULL``) are neither. The SQL lives in ``store.reads``.
    """
    negatives = hard_negatives(store, run_id, max_negatives, max_negative_rank)
    return [(text, pid, list(negatives.get(qid, []))) for qid, text, pid in reads.kept_pairs(store, run_id)]


def hard_negatives(store, run_id: str, max_negatives: int = 4, max_negative_rank: int = 50) -> dict[str, list[str]]:
    """Query id → ids of its rejected-but-well-ranked candidates, best ANN rank first."""
    return reads.hard_negatives(store, run_id, max_negatives, max_negative_rank)


def synthetic_texts(rows: Sequence[tuple[str, str, list[str]]], catalog) -> list[SyntheticPair]:
    """``pairs_from_store`` rows with product ids replaced by the catalog texts the model reads."""
    return [(q, catalog.text(pid), [catalog.text(n) for n in negs]) for q, pid, negs in rows]


def baseline_pairs(source) -> list[BaselinePair]:
    """The source's baseline data as ``(query, product text)`` (on the demo world its head-query
    logs); ``MissingData`` naming the file when it has none."""
    from tailsynth.sources import as_source

    return as_source(source).require("baseline_pairs")


def train_recipes(
    config: RetrieverTrainConfig,
    baseline: Sequence[BaselinePair],
    synthetic: Sequence[SyntheticPair],
    out_dir: str | Path,
    store=None,
    dev_metric=None,
) -> dict[str, Path]:
    """Train (or load) both recipes from one config, differing only in ``recipe`` (so a gain is
    the data's); recipe → model directory under ``out_dir/<recipe>/``."""
    return {recipe: train_retriever(recipe_config(config, recipe, out_dir), baseline, synthetic, store=store,
                                    dev_metric=dev_metric)
            for recipe in RECIPES}


def recipe_config(config: RetrieverTrainConfig, recipe: str, out_dir: str | Path) -> RetrieverTrainConfig:
    """``config`` for one recipe of ``train_recipes``, trained into ``out_dir/<recipe>/``."""
    import dataclasses

    return dataclasses.replace(config, recipe=recipe, out_dir=str(Path(out_dir) / recipe), run_id=None)


# ------------------------------------------------------------------------------------ model
def load_model(path: str | Path | None, device: str, max_seq_length: int):
    """A sentence-transformers model from a local directory (a plain HF encoder gets mean pooling)."""
    from sentence_transformers import SentenceTransformer

    from tailsynth.paths import minilm_dir

    model = SentenceTransformer(str(path or minilm_dir()), device=device, local_files_only=True)
    model.max_seq_length = max_seq_length
    return model


def embed(model, texts: list[str], device: torch.device) -> torch.Tensor:
    """Sentence embeddings with gradients (``model.encode`` runs under no_grad)."""
    prepare = getattr(model, "preprocess", None) or model.tokenize  # ``tokenize`` before ST 6
    features = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in prepare(texts).items()}
    return model(features)["sentence_embedding"]


def _lr_lambda(steps: int, warmup_ratio: float):
    warmup = max(1, math.ceil(warmup_ratio * steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (steps - step) / max(1, steps - warmup))

    return factor


# ------------------------------------------------------------------------------------ training
def train_retriever(
    config: RetrieverTrainConfig,
    baseline_pairs: Sequence[BaselinePair],
    synthetic_pairs: Sequence[SyntheticPair] | None = None,
    store=None,
    dev_metric=None,
) -> Path:
    """Train one recipe; returns the sentence-transformers directory of the final model.

    ``dev_metric``: ``model -> {name: value}``, called every ``config.dev_every`` steps (module doc).

    Resumes from ``out_dir/checkpoint`` when one exists for the same config and data; a finished
    ``out_dir/model`` for the same config and data is returned as is.
    """
    if config.recipe == "baseline+synthetic" and not synthetic_pairs:
        raise ValueError("recipe 'baseline+synthetic' needs synthetic pairs (kept pairs of a synthesis run)")
    synthetic = list(synthetic_pairs or []) if config.recipe == "baseline+synthetic" else []
    baseline = list(baseline_pairs)
    fingerprint = data_fingerprint(baseline, synthetic)
    key = {"config": config.weights_key(), "data": fingerprint}
    out = Path(config.out_dir)
    # The same weights trained into another directory are another run (their recorded configs differ).
    run_id = config.run_id or f"retriever-{config.recipe}-" + hashlib.sha256(
        json.dumps({**key, "out_dir": str(out.resolve())}, sort_keys=True).encode()
    ).hexdigest()[:10]
    final = out / "model"
    if (final / TRAIN_META).exists() and json.loads((final / TRAIN_META).read_text())["key"] == key:
        return final

    device = torch.device(config.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(config.seed)
    ckpt = out / "checkpoint"
    resume = (ckpt / "key.json").exists() and json.loads((ckpt / "key.json").read_text()) == key
    if (ckpt / "key.json").exists() and not resume:
        raise ValueError(f"{ckpt} holds a checkpoint of another config or data; pick another out_dir or delete it")
    model = load_model(ckpt / "model" if resume else config.base_model, str(device), config.max_seq_length)
    model.train()
    loss_fn = InBatchNegativesLoss(config.temperature)
    no_decay = ("bias", "LayerNorm.weight", "LayerNorm.bias")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)], "weight_decay": config.weight_decay},
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optimizer = adamw(groups, lr=config.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(config.steps, config.warmup_ratio))
    step, losses, dev = 0, [], []
    if resume:
        state = torch.load(ckpt / "state.pt", map_location=device, weights_only=True)  # no pickled code
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, losses, dev = state["step"], state["losses"], state.get("dev", [])
        torch.set_rng_state(state["torch_rng"])

    if store is not None:
        store.start_run(run_id, "train_retriever", {**asdict(config), "run_id": run_id, "data": fingerprint},
                        {"base_model": str(config.base_model or "all-MiniLM-L6-v2")})
    plan = plan_batches(
        [(q, p) for q, p in baseline],
        [(q, p) for q, p, _ in synthetic] if synthetic else None,
        config.steps * config.grad_accum,
        config.batch_size,
        config.synthetic_ratio,
        config.seed,
    )
    rows = {"baseline": [(q, p, []) for q, p in baseline], "synthetic": synthetic}
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=config.bf16 and device.type == "cuda")
    pending_log: list[tuple] = []
    started, start_step = time.perf_counter(), step

    def dev_point() -> None:
        if dev_metric is None or not config.dev_every or (dev and dev[-1]["step"] == step):
            return
        values = dev_metric(model)
        model.train()  # encoding for the metric may leave it in eval mode (no dropout)
        dev.append({"step": step, **values})
        pending_log.extend((run_id, step, f"dev:{name}", float(v)) for name, v in values.items())

    def flush() -> None:
        if store is not None and pending_log:
            store.insert("train_log", pending_log, replace=True)
        pending_log.clear()

    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    columns = [TextColumn(f"[bold]{config.recipe}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("loss {task.fields[loss]:.4f}"), TimeRemainingColumn()]
    with work_progress(*columns, enabled=config.show_progress) as progress:
        task = progress.add_task(config.recipe, total=config.steps, completed=step, loss=losses[-1] if losses else math.nan)
        dev_point()
        while step < config.steps:
            optimizer.zero_grad(set_to_none=True)
            step_loss = 0.0
            for micro in range(config.grad_accum):
                batch = [rows[src][i] for src, i in plan[step * config.grad_accum + micro]]
                negatives = [n for _, _, negs in batch for n in negs[: config.negatives_per_row]] if config.hard_negatives else []
                with autocast:
                    q = embed(model, [b[0] for b in batch], device)
                    p = embed(model, [b[1] for b in batch], device)
                    n = embed(model, negatives, device) if negatives else None
                loss = loss_fn(q, p, n) / config.grad_accum
                loss.backward()
                step_loss += float(loss.detach())
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            lr = scheduler.get_last_lr()[0]
            optimizer.step()
            scheduler.step()
            step += 1
            losses.append(step_loss)
            pending_log += [(run_id, step, "loss", step_loss), (run_id, step, "lr", lr)]
            progress.update(task, completed=step, loss=step_loss)
            if config.dev_every and (step % config.dev_every == 0 or step == config.steps):
                dev_point()
            if step % config.checkpoint_every == 0 and step < config.steps:
                _save_checkpoint(ckpt, model, optimizer, scheduler, step, losses, key, dev)
                flush()
    elapsed = time.perf_counter() - started
    examples = (step - start_step) * config.grad_accum * config.batch_size
    if store is not None and step > start_step:
        pending_log.append((run_id, step, "examples_per_s", examples / max(elapsed, 1e-9)))
    flush()

    tmp = out / "model.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save(str(tmp))
    meta = {
        "key": key,
        "run_id": run_id,
        "recipe": config.recipe,
        "steps": config.steps,
        "batch_size": config.batch_size,
        "grad_accum": config.grad_accum,
        "examples_seen": config.steps * config.grad_accum * config.batch_size,
        "synthetic_rows_per_batch": round(config.synthetic_ratio * config.batch_size) if synthetic else 0,
        "baseline_rows": len(baseline),
        "synthetic_rows": len(synthetic),
        "final_loss": losses[-1] if losses else None,
        "train_seconds_this_session": round(elapsed, 2),
        "device": str(device),
        "dev_curve": dev,
    }
    (tmp / TRAIN_META).write_text(json.dumps(meta, indent=2))
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    (out / "losses.json").write_text(json.dumps(losses))
    if dev:
        (out / "dev_curve.json").write_text(json.dumps(dev, indent=2))
    plot_losses(losses, out / "loss.png", title=f"{config.recipe} ({run_id})")
    shutil.rmtree(ckpt, ignore_errors=True)
    if store is not None:
        store.finish_run(run_id)
    return final


def _save_checkpoint(ckpt: Path, model, optimizer, scheduler, step: int, losses: list[float], key: dict,
                     dev: list[dict] | None = None) -> None:
    """Write model + optimizer + scheduler + step into a temp dir, then swap it in (crash-safe)."""
    tmp = ckpt.with_name(ckpt.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save(str(tmp / "model"))
    torch.save(
        {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "step": step,
         "losses": losses, "dev": dev or [], "torch_rng": torch.get_rng_state()},
        tmp / "state.pt",
    )
    (tmp / "key.json").write_text(json.dumps(key, sort_keys=True))
    shutil.rmtree(ckpt, ignore_errors=True)
    tmp.rename(ckpt)


def plot_losses(losses: list[float], path: Path, title: str = "") -> None:
    """Raw per-step loss and its exponential moving average, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ema, smooth = [], None
    for value in losses:
        smooth = value if smooth is None else 0.9 * smooth + 0.1 * value
        ema.append(smooth)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    steps = range(1, len(losses) + 1)
    ax.plot(steps, losses, alpha=0.35, label="loss")
    ax.plot(steps, ema, label="EMA 0.9")
    ax.set_xlabel("step")
    ax.set_ylabel("InfoNCE loss")
    ax.set_title(title, fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
