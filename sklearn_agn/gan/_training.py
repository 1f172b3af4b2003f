"""CFGAN training loop (Chae et al., CIKM 2018), with item and user side information.

Everything here takes canonical CSR matrices, numpy arrays or tensors and
returns arrays; parameter validation and the scikit-learn API live in
:mod:`sklearn_agn.gan._augmenter`, the networks in :mod:`._networks`, the
scoring of trained generators in :mod:`._inference`.

The generator is trained with CFGAN's "ZP" scheme: the discriminator sees the
generated scores only on the user's observed items plus a random sample of
unobserved ones (partial masking, PM), and the generator is pulled to zero on
another random sample of unobserved items (zero reconstruction, ZR). Without
them the generator wins trivially by scoring every item 1. With item
attributes, items that have no training interaction are never sampled as
negatives: nothing is known about them, and pulling them to zero would teach
the attribute path that every cold item is unwanted.

The samples are counts per row, not shares of the catalogue: a row's
unobserved (allowed) items are its pool, capped at ``negatives_per_interaction``
times its length (at least ``min_negatives``); ZR and PM each draw a share
``zr_ratio`` / ``pm_ratio`` of the pool, without replacement, and each ZR
sample is weighted so that its penalty is CFGAN's in expectation. Only the
observed and sampled items are scored, and the optimisers update only their
rows of the per-item tables (lazy Adam), so an epoch costs the interactions
plus the samples, whatever the catalogue's size (the standard negative
sampling move). Without a cap the pool is every unobserved item: CFGAN's
ratios.
"""

import copy
import dataclasses
import itertools

import numpy as np
import torch
from sklearn.utils import gen_batches
from torch.nn import functional as F
from torch.optim.adam import adam
from torch.torch_version import TorchVersion

from ._inference import noise, scoring_copy, user_features_batch, validation_ndcg
from ._networks import Discriminator, Generator, SparseRows, features_tensor, init_weights

# The fused Adam kernel is several times faster on CPU for these wide layers,
# but CPU support only arrived in torch 2.4.
_FUSED_ADAM_ON_CPU = TorchVersion(torch.__version__) >= "2.4"


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """The training hyper-parameters of :class:`~sklearn_agn.GANAugmenter`, validated.

    Each field is the estimator's parameter of the same name (its docstring
    says what it does); :meth:`from_params` picks them out of ``get_params()``.
    """

    noise_dim: int
    g_hidden_sizes: tuple
    d_hidden_sizes: tuple
    activation: str
    g_learning_rate: float
    d_learning_rate: float
    g_weight_decay: float
    g_steps: int
    d_steps: int
    zr_ratio: float
    pm_ratio: float
    zr_coef: float
    negatives_per_interaction: float
    min_negatives: int
    item_dropout: float
    condition_dropout: float
    batch_size: int
    max_iter: int
    tol: float
    n_iter_no_change: int
    validation_k: int

    @classmethod
    def from_params(cls, params, **overrides):
        """The fields' values in ``params`` (a dict), replaced by ``overrides``."""
        names = [field.name for field in dataclasses.fields(cls)]
        return cls(**{**{name: params[name] for name in names}, **overrides})


@dataclasses.dataclass
class TrainingLog:
    """What :func:`fit_cfgan` records, one value per epoch run.

    ``validation_scores`` is None without validation; the generator kept is
    the one of the epoch of the first best score.
    """

    loss_curve: list
    discriminator_loss_curve: list
    validation_scores: list


def _share(ratio, pool):
    return np.floor(ratio * pool + 0.5).astype(np.int64)


def _negative_counts(lengths, n_allowed, ratio, per_interaction, minimum):
    """Items ZR or PM samples in each row: ``ratio`` of the row's pool of negatives, rounded.

    The pool is the row's ``n_allowed - length`` unobserved allowed items,
    capped at ``max(minimum, ceil(per_interaction * length))`` unless
    ``per_interaction`` is None.
    """
    pool = n_allowed - lengths
    if per_interaction is not None:
        cap = np.maximum(minimum, np.ceil(per_interaction * lengths)).astype(np.int64)
        pool = np.minimum(pool, cap)
    return _share(ratio, pool)


def _zr_weights(lengths, n_allowed, counts, ratio):
    """Weight of each row's ZR sample that makes its penalty CFGAN's in expectation.

    CFGAN pulls ``ratio`` of all of a row's unobserved items to zero; a
    uniform sample of ``count`` of them, each weighted ``full / count``, has
    the same expected penalty. Rows sampled in full weigh 1.
    """
    full = _share(ratio, n_allowed - lengths)
    return np.where(counts > 0, full / np.maximum(counts, 1), 0.0)


def _sample_unobserved(X, counts, allowed, rng):
    """Disjoint samples of the unobserved ``allowed`` items of each row of CSR ``X``.

    ``counts`` is a list of int arrays, one per sample, each with an entry
    per row; ``allowed`` is the sorted array of the items that may be drawn
    (it holds every observed item). The rows share one uniform random
    ordering of ``max(length + sum(counts))`` allowed items (all of them if
    fewer): each row takes consecutive unobserved items there, sample after
    sample, from a random starting point (wrapping around). Each row's samples
    are then uniform draws without replacement among its unobserved allowed
    items, while the batch as a whole samples no more distinct items than its
    neediest row, so that the generator scores them all in one product. A
    row that wants more than it has unobserved gets all it has.

    Returns
    -------
    samples : list of (rows, items)
        Row-sorted coordinates, one pair of int arrays per entry of ``counts``.
    """
    n_rows, lengths = X.shape[0], np.diff(X.indptr)
    wanted = np.cumsum([np.zeros_like(lengths)] + list(counts), axis=0)
    size = int(min(len(allowed), (lengths + wanted[-1]).max(initial=0)))
    shared = allowed[rng.permutation(len(allowed))[:size]]
    # Where the observed items sit in ``shared``, row by row.
    position = np.full(int(allowed.max(initial=-1)) + 1, size)
    position[shared] = np.arange(size)
    observed_rows = np.repeat(np.arange(n_rows), lengths)
    observed = position[X.indices]
    inside = observed < size
    observed_rows, observed = observed_rows[inside], observed[inside]
    order = np.lexsort((observed, observed_rows))
    observed_rows, observed = observed_rows[order], observed[order]
    n_inside = np.bincount(observed_rows, minlength=n_rows)
    starts = np.cumsum(n_inside) - n_inside
    available = size - n_inside
    # The rank-th unobserved item of a row is ``shared[rank + skipped]``,
    # where ``skipped`` counts the row's observed items whose position, minus
    # the row's observed items before them, is at most the rank: one search
    # on keys offset by row.
    stride = size + 1
    keys = observed_rows * stride + observed - (np.arange(observed.size) - starts[observed_rows])
    # Each row starts at its own random rank (wrapping around), so that the
    # rows of a batch do not all take the same first items.
    offset = rng.integers(0, np.maximum(available, 1))
    samples = []
    for start, stop in zip(wanted[:-1], wanted[1:]):
        start, stop = np.minimum(start, available), np.minimum(stop, available)
        rows = np.repeat(np.arange(n_rows), stop - start)
        ranks = np.arange(rows.size) - np.repeat(np.cumsum(stop - start) - (stop - start), stop - start)
        ranks = (ranks + start[rows] + offset[rows]) % available[rows]
        skipped = np.searchsorted(keys, rows * stride + ranks, side="right") - starts[rows]
        samples.append((rows, shared[ranks + skipped]))
    return samples


class _LazyAdam:
    """Adam on a network's dense parameters, lazy Adam on its per-item tables.

    A training step reads a few rows of the tables (``module.item_tables()``)
    and their gradients are sparse; only those rows' moments and values are
    updated (Adam's step with the global bias correction, as
    ``torch.optim.SparseAdam`` and TensorFlow's LazyAdam do), so a step costs
    the batch, not the catalogue. ``SparseAdam`` itself builds several sparse
    tensors per step and measured about 3 times slower than these row
    updates. ``weight_decay`` is Adam's coupled decay (L2 penalty), on the
    dense parameters and on the table rows read.
    """

    betas, eps = (0.9, 0.999), 1e-8

    def __init__(self, module, lr, weight_decay, fused):
        self.tables = module.item_tables()
        in_tables = {id(p) for p in self.tables}
        dense = [p for p in module.parameters() if id(p) not in in_tables]
        self.dense = torch.optim.Adam(dense, lr=lr, weight_decay=weight_decay, fused=fused)
        self.lr, self.weight_decay, self.fused, self.n_steps = lr, weight_decay, fused, 0
        self.moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in self.tables]

    def zero_grad(self):
        self.dense.zero_grad()
        for table in self.tables:
            table.grad = None

    @torch.no_grad()
    def step(self):
        self.dense.step()
        self.n_steps += 1
        for table, (mean, square) in zip(self.tables, self.moments):
            if table.grad is None:
                continue
            rows, values = _sparse_rows(table.grad)
            # Adam's own kernel on copies of the rows read, with the global
            # step count for the bias correction.
            value, m, v = (x.index_select(0, rows) for x in (table, mean, square))
            adam(
                [value], [values], [m], [v], [], [torch.tensor(float(self.n_steps - 1))],
                fused=self.fused, amsgrad=False, beta1=self.betas[0], beta2=self.betas[1],
                lr=self.lr, weight_decay=self.weight_decay, eps=self.eps, maximize=False,
            )
            for x, rows_x in ((table, value), (mean, m), (square, v)):
                x.index_copy_(0, rows, rows_x)


def _sparse_rows(grad):
    """``(rows, values)`` of a sparse gradient, one entry per row.

    A gradient read from one lookup of distinct rows already has them sorted
    and once each: coalescing it would only copy it.
    """
    rows = grad._indices()[0]
    if not grad.is_coalesced() and not bool((rows[1:] > rows[:-1]).all()):
        grad = grad.coalesce()
        rows = grad._indices()[0]
    return rows, grad._values()


def _bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def _batches(X, user_attributes, batch_size, noise_dim, device, generator, n_batches=None):
    """Shuffled mini-batches: ``(X_batch, rows, noise, user_features)``.

    ``n_batches``, when set, splits the rows into exactly that many batches
    of sizes differing by at most one (the same batches as ``batch_size``
    when it divides the rows evenly): in data-parallel training every rank
    must take the same number of steps.
    """
    n_rows = X.shape[0]
    order = torch.randperm(n_rows, generator=generator, device=device).cpu().numpy()
    if n_batches is None:
        parts = gen_batches(n_rows, batch_size)
    else:
        bounds = np.arange(n_batches + 1) * n_rows // n_batches
        parts = (slice(start, stop) for start, stop in itertools.pairwise(bounds))
    for part in parts:
        batch = order[part]
        X_batch = X[batch]
        rows = SparseRows.from_csr(X_batch, device)
        yield (
            X_batch,
            rows,
            noise(rows.n_rows, noise_dim, device, generator),
            user_features_batch(user_attributes, batch, device),
        )


class _TrainingStep:
    """One CFGAN update of the discriminator or of the generator, on one mini-batch.

    Holds the networks, their optimisers, the :class:`TrainingConfig` and the
    random generators: ``generator`` (torch, on the training device) draws the
    dropouts, ``sampler`` (numpy) the negatives.
    """

    def __init__(self, G, D, config, *, g_optimizer, d_optimizer, negatives_allowed, generator,
                 sampler):
        self.G, self.D, self.config = G, D, config
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        # Sorted items that may be sampled as negatives: the warm ones with
        # item attributes, else all.
        self.allowed = (
            np.arange(G.item_weight.shape[0])
            if negatives_allowed is None
            else np.flatnonzero(negatives_allowed.cpu().numpy())
        )
        self.free_allowed = negatives_allowed
        self.rng, self.sampler = generator, sampler
        # What runs each step's loss closure: itself on one process; in
        # data-parallel training, DistributedDataParallel wrappers whose
        # forward runs it, so that DDP all-reduces the gradients of its
        # backward (see :func:`_data_parallel`).
        self.d_loss = self.g_loss = _run

    def _samples(self, X_batch, rows, zr):
        """PM (and ZR when ``zr``) samples of each row, as row-sorted tensors.

        PM: the discriminator sees the generated scores on the observed items
        and on a sample of unobserved ones, where a real row holds zeros.
        Returns the shown items (observed + PM) as :class:`SparseRows` and the
        ZR ``(rows, items, weights)`` (see :func:`_zr_weights`).
        """
        config, lengths = self.config, np.diff(X_batch.indptr)
        pool = config.negatives_per_interaction, config.min_negatives
        counts = [_negative_counts(lengths, len(self.allowed), config.pm_ratio, *pool)]
        if zr:
            counts.append(_negative_counts(lengths, len(self.allowed), config.zr_ratio, *pool))
        samples = _sample_unobserved(X_batch, counts, self.allowed, self.sampler)
        device = rows.rows.device
        pm_rows, pm_items = (torch.from_numpy(a).to(device) for a in samples[0])
        pair_rows = torch.cat([rows.rows, pm_rows])
        order = torch.argsort(pair_rows, stable=True)
        shown = SparseRows(pair_rows[order], torch.cat([rows.indices, pm_items])[order],
                           rows.n_rows, rows.n_cols)
        if not zr:
            return shown, None
        zr_rows, zr_items = samples[1]
        weights = _zr_weights(lengths, len(self.allowed), counts[1], config.zr_ratio)[zr_rows]
        zero = tuple(
            torch.from_numpy(a).to(device)
            for a in (zr_rows, zr_items, weights.astype(np.float32))
        )
        return shown, zero

    def _scores(self, rows, noise_, user_features, pairs):
        """Generator scores of ``pairs``, with item and condition dropout."""
        device, item_dropout = noise_.device, self.config.item_dropout
        condition_dropout = self.config.condition_dropout
        # Item dropout: some warm items are scored from their attributes only.
        free = None
        if self.free_allowed is not None and item_dropout:
            draw = torch.rand(len(self.free_allowed), device=device, generator=self.rng)
            free = self.free_allowed & (draw >= item_dropout)
        # Condition dropout: some users are seen through their attributes only,
        # as a user with an empty row will be, and as many through their row
        # only, as a user whose attributes are unknown will be.
        if user_features is not None and condition_dropout:
            draw = torch.rand(rows.n_rows, device=device, generator=self.rng)
            rows = rows.drop_rows(draw < condition_dropout)
            hide = (draw >= condition_dropout) & (draw < 2 * condition_dropout)
            user_features = user_features * ~hide[:, None]
        return self.G.pair_scores(rows, noise_, pairs, user_features, free)

    def discriminator(self, X_batch, rows, noise_, user_features):
        """One discriminator update; returns its loss."""
        shown, _ = self._samples(X_batch, rows, zr=False)
        with torch.no_grad():
            shown.weights = self._scores(rows, noise_, user_features, (shown.rows, shown.indices))
        loss = self.d_loss(lambda: _bce(self.D(rows), 1.0) + _bce(self.D(rows, shown), 0.0))
        self.d_optimizer.zero_grad()
        loss.backward()
        self.d_optimizer.step()
        return loss.item()

    def generator(self, X_batch, rows, noise_, user_features):
        """One generator update; returns its loss."""
        zr = bool(self.config.zr_coef and self.config.zr_ratio)
        shown, zero = self._samples(X_batch, rows, zr)
        loss = self.g_loss(lambda: self._generator_loss(rows, noise_, user_features, shown, zero))
        self.g_optimizer.zero_grad()
        loss.backward()
        self.g_optimizer.step()
        return loss.item()

    def _generator_loss(self, rows, noise_, user_features, shown, zero):
        """The loss of a generator step on the rows' samples."""
        config, zr = self.config, zero is not None
        n_shown = len(shown.rows)
        pairs = (shown.rows, shown.indices)
        if zr:
            pairs = (torch.cat([pairs[0], zero[0]]), torch.cat([pairs[1], zero[1]]))
        # One pass of the generator scores both samples.
        scores = self._scores(rows, noise_, user_features, pairs)
        shown.weights = scores[:n_shown]
        # D is fixed here: computing (and accumulating) its gradients would
        # only waste time, and sparse ones would pile up until its next step.
        self.D.requires_grad_(False)
        try:
            loss = _bce(self.D(rows, shown), 1.0)
        finally:
            self.D.requires_grad_(True)
        if zr:
            zr_loss = (zero[2] * scores[n_shown:].square()).sum()
            loss = loss + config.zr_coef * zr_loss / rows.n_rows
        return loss


def _run(loss):
    return loss()


class _StepLoss(torch.nn.Module):
    """A network as the module of a DistributedDataParallel wrapper whose forward runs a loss.

    The training step scores through ``Generator.pair_scores`` and reads the
    per-item tables with sparse gradients, not through ``forward``: this
    module's forward runs the step's loss closure instead, so that DDP hooks
    the backward of exactly what a step computes. DDP expects a sparse
    gradient only for the weight of an ``nn.Embedding(sparse=True)``: each
    item table is registered first as the weight of one, so that DDP buckets
    it as sparse (gloo all-reduces sparse tensors) while the network, which
    shares the parameters, stays as it is.
    """

    def __init__(self, network):
        super().__init__()
        self.tables = torch.nn.ModuleList()
        for table in network.item_tables():
            embedding = torch.nn.Embedding(1, 1, sparse=True)
            embedding.weight = table
            self.tables.append(embedding)
        self.network = network

    def forward(self, loss):
        return loss()


def _data_parallel(step, n_rows, batch_size):
    """Wrap ``step``'s losses in DistributedDataParallel; returns the batches per pass.

    Each rank holds a shard of the users; every rank takes ``ceil(n_users /
    batch_size)`` steps per pass, a single process's number (so that an epoch
    is the same number of Adam steps), on about ``batch_size / world_size``
    of its rows each. DDP averages the ranks' gradients, each the mean over
    its rows: the gradient of the mean over the global batch, up to the
    ranks' batch sizes differing by one. The generator's is built with
    ``find_unused_parameters``: its user-attribute weights take no part
    without user attributes, and DDP would wait for their gradients.
    """
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    total = torch.tensor([n_rows])
    dist.all_reduce(total)
    n_batches = -(-int(total) // batch_size)
    step.d_loss = DistributedDataParallel(_StepLoss(step.D))
    step.g_loss = DistributedDataParallel(_StepLoss(step.G), find_unused_parameters=True)
    for wrapper in (step.d_loss, step.g_loss):
        wrapper.register_comm_hook(None, _mean_one_bucket_at_a_time)
    return n_batches


def _mean_one_bucket_at_a_time(state, bucket):
    """DDP communication hook: the mean of a bucket's gradients over the ranks, synchronously.

    DDP's own hook all-reduces its buckets asynchronously, so that several
    run at once on gloo's worker threads; with several sparse buckets (one
    per item table) that corrupted the heap (``malloc(): unaligned tcache
    chunk detected``, or a segmentation fault) within a few hundred steps.
    ``benchmarks/stress_ddp_sparse.py`` reproduces it. All-reducing one
    bucket at a time, inside the backward pass, gives the same mean without
    the concurrency; on CPU there was little overlap to lose.
    """
    import torch.distributed as dist

    tensor = bucket.buffer()
    dist.all_reduce(tensor)
    result = torch.futures.Future()
    result.set_result(tensor / dist.get_world_size())
    return result


def _mean_over_ranks(values):
    """The mean of ``values`` (floats, one per epoch's network) over the ranks."""
    import torch.distributed as dist

    values = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(values)
    return (values / dist.get_world_size()).tolist()


def fit_cfgan(X, config, *, item_attributes=None, user_attributes=None, validation=None,
              device, seed, progress=None, distributed=False):
    """Train a CFGAN generator on the sparsity pattern of canonical CSR ``X``.

    Parameters
    ----------
    X : csr_matrix of shape (n_users, n_items)
        Training rows; stored entries are interactions.
    config : TrainingConfig
    item_attributes : ndarray or sparse matrix of shape (n_items, n_item_features) or None
        Validated attributes of the columns of ``X``.
    user_attributes : ndarray or CSR matrix of shape (n_users, n_user_features) or None
        Validated attributes of the rows of ``X``.
    validation : tuple of two csr_matrix or None
        ``(X_in, X_out)``: rows (aligned with ``X`` and ``user_attributes``)
        to condition on and their held-out items. The generator's
        NDCG@``validation_k`` on ``X_out`` is computed every epoch; training
        stops after ``n_iter_no_change`` epochs without an improvement of
        more than ``tol`` on the best score, and the best epoch's weights are
        kept.
    device : torch.device
    seed : int
        Seeds weight initialisation, shuffling, noise and negative sampling.
    progress : tqdm progress bar or None
        Advanced once per epoch, with the current losses.
    distributed : bool
        Train as one rank of a DistributedDataParallel job (the default
        process group initialised, gloo on the CPU) in which ``X`` is this
        rank's shard of the users (see :func:`_data_parallel`); without side
        information or validation. Rank 0 draws as a single process does
        (the same fit when it holds every row and ``batch_size`` divides
        them); rank ``r`` shuffles, draws noise and samples from its own
        streams. The losses logged are the means over the ranks.

    Returns
    -------
    generator : Generator
        On the CPU, in eval mode.
    log : TrainingLog
    """
    n_items = X.shape[1]
    rank = 0
    if distributed:
        import torch.distributed as dist

        rank = dist.get_rank()
    # Every rank starts from the same weights (DDP broadcasts rank 0's anyway).
    init_gen = torch.Generator().manual_seed(seed)
    # Training draws happen on the training device, from its own generator.
    train_gen = torch.Generator(device=device).manual_seed(seed + 1 + 2 * rank)

    warm = None
    if item_attributes is not None:
        warm = torch.from_numpy(np.bincount(X.indices, minlength=n_items) > 0)
    G = Generator(
        n_items,
        config.noise_dim,
        config.g_hidden_sizes,
        config.activation,
        item_attributes=None if item_attributes is None else features_tensor(item_attributes),
        warm_items=warm,
        n_user_features=0 if user_attributes is None else user_attributes.shape[1],
    )
    D = Discriminator(n_items, config.d_hidden_sizes, config.activation)
    init_weights(G, init_gen)
    init_weights(D, init_gen)
    G.to(device)
    D.to(device)
    fused = device.type == "cuda" or _FUSED_ADAM_ON_CPU
    step = _TrainingStep(
        G,
        D,
        config,
        g_optimizer=_LazyAdam(G, config.g_learning_rate, config.g_weight_decay, fused),
        d_optimizer=_LazyAdam(D, config.d_learning_rate, 0.0, fused),
        negatives_allowed=None if warm is None else warm.to(device),
        generator=train_gen,
        # Drawn on the CPU with numpy: the same negatives on any device.
        sampler=np.random.default_rng(seed + 2 + 2 * rank),
    )
    n_batches = _data_parallel(step, X.shape[0], config.batch_size) if distributed else None

    def passes(n_passes):
        for _ in range(n_passes):
            yield from _batches(X, user_attributes, config.batch_size, config.noise_dim, device,
                                train_gen, n_batches)

    log = TrainingLog([], [], None if validation is None else [])
    best_score, best_state, stale = -np.inf, None, 0
    for _ in range(config.max_iter):
        G.train()
        d_losses = [step.discriminator(*batch) for batch in passes(config.d_steps)]
        g_losses = [step.generator(*batch) for batch in passes(config.g_steps)]
        losses = [float(np.mean(d_losses)), float(np.mean(g_losses))]
        if distributed:
            losses = _mean_over_ranks(losses)
        log.discriminator_loss_curve.append(losses[0])
        log.loss_curve.append(losses[1])
        score = float("nan")
        if validation is not None:
            G.eval()
            # Scored as the fitted estimator will score (float64): the
            # choice of epoch then does not depend on the CPU either.
            score = validation_ndcg(
                scoring_copy(G, device), *validation, config.validation_k, config.batch_size,
                device, user_attributes=user_attributes,
            )
            log.validation_scores.append(score)
            # As in MLPClassifier: the patience resets on a gain of at least
            # ``tol``, the kept weights follow the best score.
            stale = stale + 1 if score < best_score + config.tol else 0
            if score > best_score:
                best_score = score
                best_state = copy.deepcopy(G.state_dict())
        if progress is not None:
            progress.update(1)
            shown = {"g_loss": f"{log.loss_curve[-1]:.4f}",
                     "d_loss": f"{log.discriminator_loss_curve[-1]:.4f}"}
            if validation is not None:
                shown["val"] = f"{score:.4f}"
            progress.set_postfix(shown)
        if validation is not None and stale >= config.n_iter_no_change:
            break

    if best_state is not None:
        G.load_state_dict(best_state)
    # Kept on the CPU so that a fitted estimator pickles and loads anywhere.
    return G.cpu().eval(), log
