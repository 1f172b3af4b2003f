"""Matrix factorisation for implicit feedback, trained by weighted ALS."""

import contextlib
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from .._base import BaseRecommender
from .._fit_state import atomic_fit
from .._threads import blas_threads, resolve_n_jobs, torch_num_threads
from .._torch_utils import resolve_device, seeded_generator, torch_dtype
from .._validation import _n_columns, check_interactions, check_item_indices
from . import _serving
from ._als import SOLVERS, als
from ._als_equations import real_counts, row_lambdas
from ._incremental import UserStatistics, item_step


class MFRecommender(BaseRecommender):
    """Implicit-feedback matrix factorisation recommender (weighted ALS).

    Learns item factors from a users x items matrix of implicit feedback by
    weighted alternating least squares (Hu, Koren & Volinsky, 2008): every
    real interaction is a positive preference (1) with confidence
    ``1 + alpha * value``, every missing entry a negative one (preference 0)
    with confidence 1. Generated feedback that
    :class:`~sklearn_agn.GANAugmenter` marked, of weight ``w`` in (0, 1],
    has preference ``w`` and confidence ``1 + alpha * w``, and does not count
    in the penalty: as ``w`` goes to 0 it vanishes and the model becomes the
    one fitted without it.

    The model is inductive: it stores item factors only. ``predict``,
    ``decision_function`` and ``score`` fold the given rows in (an exact
    least-squares solve against the item factors, the user step of ALS), so a
    brand-new user and a user seen in ``fit`` are treated the same way, which
    keeps the model safe under cross-validation over users.

    Parameters
    ----------
    n_factors : int, default=64
        Dimension of the latent factors.
    regularization : float, default=0.3
        L2 penalty on the factors (lambda).
    regularization_exponent : float, default=1.0
        Scales the penalty of each row with its number ``n_u`` of real
        interactions (generated feedback does not count):
        ``lambda_u = regularization * (n_u + 1) ** regularization_exponent``.
        0 gives the classic constant penalty; 1 the frequency-scaled penalty
        recommended by Rendle et al. (2021).
    alpha : float, default=2.0
        Confidence scale: an entry of value ``r`` has confidence ``1 + alpha * r``
        (a generated entry's value is its weight ``w``, its preference ``w``).
    n_iter : int, default=15
        Largest number of ALS sweeps (users, then items) in ``fit``: all of
        them unless ``tol`` stops earlier.
    tol : float, default=None
        Tolerance of ``fit``: the weighted loss (see ``loss_curve_``) is
        evaluated after every sweep, the sweeps stop once it decreases by
        less than ``tol`` times its value of the previous sweep, and a
        :class:`~sklearn.exceptions.ConvergenceWarning` says when ``n_iter``
        sweeps ended before that. None (the default) runs ``n_iter`` sweeps
        and evaluates no loss (it costs about a tenth of a CG sweep): the
        number of sweeps is a hyper-parameter, tuned with the others, as in
        ``implicit``. With the defaults on MovieLens-100K the loss still
        decreases by about 1e-4 of its value at the 15th sweep.
    solver : {"cg", "cholesky"}, default="cg"
        Least-squares solver of the ALS sweeps of ``fit`` and of the item
        update of ``partial_fit``. "cg" runs
        ``cg_steps`` conjugate-gradient steps per sweep, warm-started from the
        previous sweep (Takacs et al., 2011; the default of ``implicit``):
        inexact per sweep but converging over the sweeps. "cholesky" solves
        every user's and item's normal equations exactly (batched Cholesky
        factorisations; cost grows as ``n_factors ** 3`` per row). "cg" is
        the default because, measured side by side on two MovieLens-100K
        splits (``benchmarks/bench_solvers.py``), it reached the same
        validation NDCG@20 (within .002) in 5 to 20 times less time, from
        64 factors on. ``partial_fit`` starts its ``cg_steps`` steps from the
        current item factors, which an update moves little. Folding users in
        (``predict``, ``fold_in``, ``score``, ``partial_fit``) always solves
        exactly.
    cg_steps : int, default=3
        Conjugate-gradient steps per half-sweep (and per ``partial_fit``
        item update) with ``solver="cg"``; ignored otherwise. ``n_factors``
        steps solve exactly (up to rounding).
    k : int, default=10
        Number of items ``predict`` returns per user, and the cut-off of ``score``.
    metric : {"ndcg", "precision", "recall", "mrr", "hit_rate"}, default="ndcg"
        Ranking metric of ``score``.
    batch_size : int, default=1024
        Rows folded in and scored at a time; bounds the memory of ``predict``
        to ``batch_size * n_items`` scores whatever the number of rows
        (``decision_function`` returns all scores, so its output is
        ``n_users * n_items``).
    n_jobs : int, default=None
        CPU threads of ``fit``, ``partial_fit`` and prediction. None (the
        default) leaves torch's thread count and numpy's BLAS's alone: the
        work runs on the calling thread with their own threads, and no global
        setting changes. An int asks for that many threads (-1: all CPUs, -2:
        all but one): ``fit`` then solves blocks of rows on ``n_jobs`` Python
        threads with torch single-threaded meanwhile (from 65,536
        interactions on), and the rest of the call runs with torch and the
        BLAS libraries of numpy and scipy (prediction multiplies in numpy) at
        ``n_jobs`` threads. These counts are process-wide: calls that overlap
        in several threads put back the process's original counts when the
        last of them ends.
    dtype : {"float32", "float64"}, default="float32"
        Floating type of the factors, of the solver of ``fit`` and
        ``partial_fit``, and of the scores. Users are folded in and scored in
        float64 whatever ``dtype``, then rounded to it (see Notes).
    device : {"auto", "cpu", "cuda"} or str, default="auto"
        Torch device of the solver of ``fit`` and ``partial_fit``; "auto"
        picks a CUDA GPU when torch sees one. Fitted factors are stored as
        numpy arrays, and users are folded in and scored on the CPU in numpy
        whatever the device (see Notes), so a model fitted on a GPU predicts
        on a CPU-only machine after unpickling.
    random_state : int, RandomState instance or None, default=None
        Seed of the initial item factors.
    verbose : int, default=0
        Show a progress bar over ALS sweeps when > 0.
    warm_start : bool, default=False
        When True, ``fit`` starts from the item factors of the previous fit
        (of the same number of items and factors; otherwise from random
        ones, as when False). The user factors start where the solver starts
        them: with ``solver="cholesky"`` a warm-started fit of ``m`` sweeps
        after one of ``k`` sweeps gives the factors of a fit of ``k + m``
        sweeps; with "cg" the first sweep's CG steps start the users at 0,
        not at their previous factors (the model does not keep them), which
        gives factors close to those of the longer fit, not equal.

    Attributes
    ----------
    item_factors_ : ndarray of shape (n_items, n_factors)
        Learned item factors.
    n_features_in_ : int
        Number of items seen in ``fit`` (grown by ``partial_fit`` with new items).
    n_iter_ : int
        Number of ALS sweeps run by the last ``fit`` (or first
        ``partial_fit``); 1 after a later ``partial_fit`` (one item update).
    loss_curve_ : list of float or None
        With ``tol``, the weighted loss after each sweep of the last ``fit``
        (or first ``partial_fit``): the confidence-weighted squared error
        over every (user, item) pair, ``sum c_ui (p_ui - x_u . y_i)^2``, plus
        the penalties ``lambda_u |x_u|^2`` and ``lambda_i |y_i|^2`` as the
        solver applies them (see ``regularization_exponent``); None without
        ``tol``. Non-increasing with ``solver="cholesky"`` (each half-sweep
        minimises it exactly), and with "cg" up to rounding (CG steps
        started from the previous factors never increase it). A later
        ``partial_fit`` leaves it.
    user_gram_ : ndarray of shape (n_factors, n_factors)
        Sum of ``x_u x_u^T`` over every user seen (``fit``'s final user
        factors, then those of the rows given to ``partial_fit``).
    item_curvature_ : ndarray of shape (n_items, n_factors)
        Per item, the diagonal of ``sum_u (c_ui - 1) x_u x_u^T`` over the
        users seen who hold it.
    item_interaction_counts_ : ndarray of shape (n_items,)
        Per item, the number of real interactions of the users seen (its
        penalty).

    See Also
    --------
    GANAugmenter : Densifies sparse rows with generated feedback before fitting.
    sklearn_agn.baselines.EASE : A strong linear item-item baseline.

    Notes
    -----
    ``item_factors_.T @ item_factors_``, the Gram matrix every fold-in needs,
    is computed once at the end of ``fit`` and ``partial_fit`` and kept with
    the model (it is pickled with it), so that recommending for one new user
    costs ``O(n_interactions * n_factors**2 + n_items * n_factors)``.

    ``partial_fit`` keeps the users seen through ``user_gram_``,
    ``item_curvature_`` and ``item_interaction_counts_``: the part of the
    item objective that comes from earlier users is kept as its quadratic
    expansion at the current item factors, exact in the Gram term and
    diagonal in the per-item term (the full per-item ``n_factors x
    n_factors`` matrices would cost ``n_items * n_factors**2`` memory). With
    ``solver="cholesky"`` an update is therefore exact when all the replayed
    or new rows come in one call, and drifts a little with many small calls
    (replaying a training set 5 rows at a time moved the item factors by
    about 17% of their size in the tests, against 67% when earlier users
    were forgotten).

    A row's scores do not depend on the rows scored with it: in float32, the
    result of a batched product for one row can change in the last bit with
    its position in the batch (which BLAS kernel a row gets depends on it, on
    the batch size and on the CPU), and with it the user's scores and
    ranking. Folding in and scoring in float64 makes these differences about
    1e-16, which the rounding of the scores to float32 does not show (unless
    a score lands within 1e-16 of a rounding boundary of float32); a row is
    folded in by the same operations alone as in any batch. With
    ``dtype="float64"`` the differences remain, at about 1e-16.
    ``decision_function`` scores every item so, a float64 product (about
    twice the time of a float32 one). ``predict``, ``recommend`` and
    ``score`` rank the same way, bit for bit, without scoring every item:
    a float32 product, over the items by decreasing norm of their factors
    and stopped where an item's norm cannot reach the k-th score, finds the
    few items whose exact score can make the top k, and only these are
    scored exactly. On 100,000 items whose norms spread as popularity does,
    one user multiplies a few thousand of them.

    Serving runs on the CPU in numpy: folding one user in is a few small
    solves, where torch's per-operation overhead cost more than the work.
    The model keeps a copy of the item factors sorted by norm for the
    search (rebuilt when a pickled model is loaded, not saved with it).

    Cold users: a row with no stored entry has no preference to fold in (its
    factor is zero, every item would score 0); it is scored by the items'
    popularity instead, ``item_interaction_counts_`` over its maximum, so a
    new user is recommended the most popular items until their first
    interaction.

    Seen-item filter: every stored entry of a row is a real interaction and
    is never recommended back, whatever its value; only the entries a
    :class:`~sklearn_agn.GANAugmenter` marked as generated stay eligible.

    References
    ----------
    Y. Hu, Y. Koren and C. Volinsky, "Collaborative Filtering for Implicit
    Feedback Datasets", ICDM 2008.

    S. Rendle, W. Krichene, L. Zhang and Y. Koren, "Revisiting the Performance
    of iALS on Item Recommendation Benchmarks", RecSys 2022 (arXiv 2110.14037).

    G. Takacs, I. Pilaszy and D. Tikk, "Applications of the Conjugate Gradient
    Method for Implicit Feedback Collaborative Filtering", RecSys 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_agn import MFRecommender
    >>> X = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 0, 1, 1], [0, 1, 1, 1]])
    >>> model = MFRecommender(n_factors=2, k=2, random_state=0).fit(X)
    >>> model.predict([[1, 0, 0, 0]]).shape
    (1, 2)
    """

    _parameter_constraints = {
        **BaseRecommender._base_parameter_constraints,
        "n_factors": [Interval(Integral, 1, None, closed="left")],
        "regularization": [Interval(Real, 0, None, closed="left")],
        "regularization_exponent": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "solver": [StrOptions(set(SOLVERS))],
        "cg_steps": [Interval(Integral, 1, None, closed="left")],
        "dtype": [StrOptions({"float32", "float64"})],
        "device": [str],
        "n_jobs": [Interval(Integral, None, -1, closed="right"),
                   Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        n_factors=64,
        *,
        regularization=0.3,
        regularization_exponent=1.0,
        alpha=2.0,
        n_iter=15,
        tol=None,
        solver="cg",
        cg_steps=3,
        k=10,
        metric="ndcg",
        batch_size=1024,
        dtype="float32",
        device="auto",
        n_jobs=None,
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        self.n_factors = n_factors
        self.regularization = regularization
        self.regularization_exponent = regularization_exponent
        self.alpha = alpha
        self.n_iter = n_iter
        self.tol = tol
        self.solver = solver
        self.cg_steps = cg_steps
        self.k = k
        self.metric = metric
        self.batch_size = batch_size
        self.dtype = dtype
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, X, y=None):
        """Learn item factors from the interactions ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            Non-negative implicit feedback; rows are users, columns items.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : MFRecommender
            The fitted estimator.
        """
        return self._fit(X, incremental=False)

    def _fit(self, X, *, incremental, previous=None, update_items=None):
        """``fit`` (``incremental=False``) and ``partial_fit``.

        ALS sweeps from random item factors, or from the current ones with
        ``warm_start``; ``incremental`` with a fitted model: one item update
        over every user seen instead.
        """
        first_call = not hasattr(self, "item_factors_")
        if not incremental or first_call:
            feedback = self._check_confidence(check_interactions(self, X, reset=True))
            warm = self.warm_start and not first_call \
                and self.item_factors_.shape == (feedback.X.shape[1], self.n_factors)
            with self._threads():
                return self._sweeps(feedback, warm)
        n_cols = _n_columns(X)
        grows = n_cols is not None and n_cols > self.n_features_in_
        feedback = self._check_confidence(check_interactions(self, X, reset=grows))
        if previous is not None:
            previous = self._check_previous(previous, feedback.X.shape)
        if update_items is not None:
            update_items = np.unique(check_item_indices(update_items, feedback.X.shape[1],
                                                        "update_items"))
        with self._threads():
            items, statistics = item_step(
                feedback, self.item_factors_, UserStatistics.of(self), previous=previous,
                update_items=update_items, **self._engine_params())
        self._set_item_factors(items)
        statistics.store(self)
        self.n_iter_ = 1
        return self

    def _validate_rows(self, X):
        return self._check_confidence(super()._validate_rows(X))

    def _check_confidence(self, feedback):
        """Reject values whose confidence ``alpha * value`` would overflow the solver's dtype."""
        # The normal equations hold sums of confidence times squared factors:
        # past the square root of the dtype's maximum they overflow to inf.
        limit = _CONFIDENCE_LIMITS[self.dtype]
        X = feedback.X
        if X.nnz and self.alpha * float(np.maximum.reduce(X.data)) > limit:
            raise ValueError(
                f"X holds values too large for dtype={self.dtype!r}: alpha * max(X) = "
                f"{self.alpha * X.data.max():.3g} exceeds {limit:.3g}. Rescale X (e.g. "
                "log1p of counts) or use dtype='float64'."
            )
        return feedback

    @contextlib.contextmanager
    def _threads(self):
        # Serving multiplies in numpy and solves in scipy: their BLAS follows
        # n_jobs as torch does.
        n_threads = resolve_n_jobs(self.n_jobs)
        with torch_num_threads(n_threads), blas_threads(n_threads):
            yield

    def _sweeps(self, feedback, warm):
        X = feedback.X
        engine = self._engine_params()
        device, dtype = engine.pop("device"), engine.pop("dtype")
        if warm:
            init = torch.from_numpy(self.item_factors_)
        else:
            generator = seeded_generator(check_random_state(self.random_state))
            init = 0.01 * torch.randn(X.shape[1], self.n_factors, generator=generator,
                                      dtype=torch.float64)
        bar = tqdm(total=self.n_iter, desc="ALS", disable=not self.verbose, leave=False)
        try:
            fitted = als(X, init.to(device=device, dtype=dtype, copy=True),
                         n_iter=self.n_iter, tol=self.tol, preferences=feedback.preferences,
                         real=feedback.real, n_threads=resolve_n_jobs(self.n_jobs),
                         callback=lambda *_: bar.update(), **engine)
        finally:
            bar.close()
        users = fitted.users.cpu().numpy().astype(np.float64)
        empty = UserStatistics.empty(X.shape[1], self.n_factors)
        statistics = empty.add(feedback, users, self.alpha)
        # Attributes are set only once training is complete: an interrupted fit
        # leaves the estimator as it was before.
        self._set_item_factors(fitted.items.cpu().numpy())
        statistics.store(self)
        self.n_iter_, self.loss_curve_ = fitted.n_iter, fitted.loss_curve
        if self.tol is not None and not fitted.converged:
            warnings.warn(
                f"MFRecommender: the loss still decreased by more than tol={self.tol:g} "
                f"(relative) after n_iter={self.n_iter} sweeps. Increase n_iter or tol.",
                ConvergenceWarning)
        return self

    def _set_item_factors(self, factors):
        """Store new item factors and the Gram matrix that goes with them."""
        self.item_factors_ = factors
        # Kept with a reference to the factors it was computed from, so a
        # replaced ``item_factors_`` is detected (pickling keeps the identity);
        # in float64, the precision of fold-in (see Notes).
        self._item_gram = (factors, _gram64(factors))
        self._sort_items()

    def _sort_items(self):
        # The order of predict's search (_serving.top_k), for float32
        # factors: float64 ones are ranked by scoring every item.
        if self.item_factors_.dtype == np.float32:
            self._items_by_norm = (self.item_factors_,
                                   _serving.ItemsByNorm(self.item_factors_))

    def __getstate__(self):
        # Without the sorted copy of the item factors: it is rebuilt on loading.
        state = dict(super().__getstate__())
        state.pop("_items_by_norm", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if hasattr(self, "item_factors_"):
            self._sort_items()

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def partial_fit(self, X, y=None, *, previous=None, update_items=None):
        """Update the model with new feedback, keeping what was learned from all users seen.

        The first call fits from scratch on ``X``. Later calls fold the rows of
        ``X`` in against the current item factors, then update the factors of
        the items those rows touch by the exact least-squares step of the
        objective over every user seen so far, in which the users seen
        before enter through their sufficient statistics (see Notes): the
        model moves with recent feedback without forgetting earlier users.
        Rows the model has already seen, replayed as their own ``previous``,
        leave it unchanged (up to rounding); without ``previous`` they count
        as more users. Items untouched by ``X`` keep their factors.

        ``X`` may have more columns than the model has items: the extra
        columns are new items appended to the catalogue (``n_features_in_``
        grows), their factors solved from the rows of ``X`` that hold them.

        On a stream, pass each active user's whole history as ``X`` (it folds
        the user in) and their history before the new feedback as
        ``previous``: each returning user then counts once, as in a refit,
        and only the items of the new interactions are re-solved (the items
        of the history were solved when their interactions arrived). On the
        MovieLens-100K stream (``python -m sklearn_agn.benchmark.stream``)
        this reached 98.8% of the NDCG@10 of a full refit after every batch,
        in about 4% of its update time.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            New feedback: rows of new or returning users, one column per
            known item, then optionally new items.
        y : None
            Ignored; present for API consistency.
        previous : {array-like, sparse matrix} of shape (n_users, n_items), default=None
            The same users' rows as the model last learned them (in ``fit``
            or an earlier ``partial_fit``; an empty row for a user it has not
            seen). Their part of the statistics and of the item equations
            is replaced by that of ``X`` instead of being added to. The model
            does not keep each user's factor: it folds the user in again from
            ``previous`` against the current item factors, so the replacement
            is exact where that gives back the factor the user was learned
            with (a fit run to convergence, items not updated since), close
            otherwise. None: every row of ``X`` is a user added to those seen.
            Ignored by the first call.
        update_items : array-like of int, default=None
            Indices of the items whose factors may change (new items
            included); of those, only the ones ``X`` touches are re-solved.
            None: the items of the entries of ``X`` that ``previous`` does not
            hold, or, without ``previous``, every item ``X`` touches. Ignored
            by the first call, which fits every item. The statistics of the
            users of ``X`` cover all their items either way.

        Returns
        -------
        self : MFRecommender
            The updated estimator.
        """
        return self._fit(X, incremental=True, previous=previous, update_items=update_items)

    def _check_previous(self, previous, expected):
        shape = getattr(previous, "shape", None) or np.shape(previous)
        if tuple(shape) != expected:
            raise ValueError(f"previous must have the shape of X {expected}: the same users' "
                             f"earlier rows, got shape {tuple(shape)}.")
        return self._check_confidence(check_interactions(self, previous, reset=False))

    def _engine_params(self):
        return dict(solver=self.solver, cg_steps=self.cg_steps,
                    device=resolve_device(self.device), dtype=torch_dtype(self.dtype),
                    alpha=self.alpha, regularization=self.regularization,
                    regularization_exponent=self.regularization_exponent)

    def similar_items(self, items, n=10):
        """The items whose factors are closest (cosine) to each of ``items``.

        Parameters
        ----------
        items : int or array-like of int
            Item indices (columns of the training matrix).
        n : int, default=10
            Number of similar items per item.

        Returns
        -------
        similar : ndarray of shape (n_queries, n), or (n,) for a single int
            Item indices by decreasing cosine similarity of their factors,
            the item itself left out.
        """
        check_is_fitted(self)
        return _serving.similar_items(self.item_factors_, items, n)

    def explain(self, user_row, items):
        """How much each item of a user's history contributed to the scores of ``items``.

        The user's factors are the exact fold-in solution ``x_u = A_u^{-1}
        b_u`` (see :meth:`fold_in`), so the score ``y_j . x_u`` of item ``j``
        is a sum over the items ``i`` of the row of ``c_ui p_ui y_j^T
        A_u^{-1} y_i``: each term is item ``i``'s contribution, and the terms
        sum to the score, as ``implicit``'s ``explain`` does.

        A row with no entry at all (a cold user) has no history to fold in:
        the model scores it by the items' popularity (see Notes), and so does
        ``explain``: the history is empty, there is no contribution, and the
        scores are the popularity scores.

        Parameters
        ----------
        user_row : {array-like, sparse matrix} of shape (1, n_items)
            One user's row (seen in fit or new). Generated entries marked by
            a :class:`~sklearn_agn.GANAugmenter` contribute with their weight.
        items : int or array-like of int
            Items whose scores are explained.

        Returns
        -------
        history : ndarray of shape (n_history,)
            The items of the row, ascending.
        contributions : ndarray of shape (n_queries, n_history), or (n_history,) for an int
            ``contributions[q, h]``: the part of the score of ``items[q]``
            due to ``history[h]``.
        scores : ndarray of shape (n_queries,), or a float for an int
            The scores of ``items`` for the user, as :meth:`decision_function`
            gives them (in float64). Unless the row is empty, each is the sum
            of its contributions, up to the rounding of ``dtype``.
        """
        feedback = self._validate_rows(user_row)
        X = feedback.X
        if X.shape[0] != 1:
            raise ValueError(f"explain takes one user's row, got {X.shape[0]} rows.")
        query, single = check_item_indices(items, self.item_factors_.shape[0], allow_int=True)
        lam = row_lambdas(real_counts(X.indptr, feedback.real), self.regularization,
                          self.regularization_exponent)[0]
        history, contributions, _ = _serving.explain(
            self.item_factors_, X, query, alpha=self.alpha, user_regularization=lam,
            preferences=feedback.preferences)
        # The model's own scores: for an empty row, popularity, which is not
        # the contributions' sum; otherwise that sum up to rounding.
        with self._threads():
            scores = self._score_rows(feedback)[0, query].astype(np.float64)
        if single:
            return history, contributions[0], float(scores[0])
        return history, contributions, scores

    def fold_in(self, X):
        """User factors of the rows of ``X`` given the learned item factors.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            User rows, seen in fit or new.

        Returns
        -------
        user_factors : ndarray of shape (n_users, n_factors)
        """
        feedback = self._validate_rows(X)
        with self._threads():
            return np.vstack([self._fold_in(part).numpy().astype(self.dtype)
                              for _, part in self._batches(feedback)])

    def _gram(self):
        """``item_factors_.T @ item_factors_`` in float64, cached at fit time."""
        cached = getattr(self, "_item_gram", None)
        if cached is not None and cached[0] is self.item_factors_:
            return cached[1]
        # Factors set by hand, or a model pickled before the cache existed.
        return _gram64(self.item_factors_)

    def _sorted_items(self):
        """The item factors sorted by decreasing norm (for ``_serving.top_k``), cached."""
        cached = getattr(self, "_items_by_norm", None)
        if cached is not None and cached[0] is self.item_factors_:
            return cached[1]
        return _serving.ItemsByNorm(self.item_factors_)  # factors set by hand

    def _fold_in(self, feedback):
        """The factors of the rows of ``feedback``, solved exactly in float64 (see Notes).

        A CPU tensor, as ``AttributeRidgeMF`` multiplies it with its own items
        through ``_rounded_products``.
        """
        X = feedback.X
        lambdas = row_lambdas(real_counts(X.indptr, feedback.real), self.regularization,
                              self.regularization_exponent)
        return torch.from_numpy(_serving.fold_in(self.item_factors_, self._gram(), X,
                                                 alpha=self.alpha, lambdas=lambdas,
                                                 preferences=feedback.preferences))

    def _score_rows(self, feedback):
        X = feedback.X
        users = self._fold_in(feedback)
        scores = _rounded_products(users, torch.from_numpy(self.item_factors_),
                                   torch_dtype(self.dtype)).numpy()
        # An empty row folds in to a zero factor, which ties every item at 0
        # and would leave the ranking to item order: such a cold user is
        # scored by the items' popularity instead.
        empty = np.diff(X.indptr) == 0
        if empty.any():
            counts = self.item_interaction_counts_
            scores[empty] = counts / max(counts.max(), 1)
        return scores

    def _rank_rows(self, feedback, k, banned):
        """The top k of ``feedback``'s rows from the exact scores of the items that can make it.

        ``_score_rows`` scores every item in float64; a float32 product with a
        rigorous bound on its error, over the items whose norm can reach a
        row's top k, finds those whose exact score can, and only these are
        scored exactly (``_serving.top_k``): the ranking is
        ``_score_rows``'. Cold rows (popularity), rows whose scores may
        overflow float32, and float64 factors (no cheaper product to filter
        with) go through ``_score_rows``.
        """
        items = self.item_factors_
        if items.dtype != np.float32:
            return super()._rank_rows(feedback, k, banned)
        X = feedback.X
        users = self._fold_in(feedback).numpy()
        seen = feedback.real_mask()
        ordered = self._sorted_items()
        # Empty rows are scored by popularity; products of larger factors may
        # overflow float32 (and NaN compares False).
        bounded = (X.indptr[1:] > X.indptr[:-1]) \
            & (ordered.norms[0] * np.sqrt(np.einsum("ij,ij->i", users, users)) < 1e30)
        if bounded.all():
            return _serving.top_k(users, ordered, k, banned, seen, dtype=self.dtype)
        ranked = np.empty((X.shape[0], k), dtype=np.intp)
        rows, others = np.flatnonzero(bounded), np.flatnonzero(~bounded)
        ranked[rows] = _serving.top_k(users[rows], ordered, k, banned, seen[rows],
                                         dtype=self.dtype)
        ranked[others] = super()._rank_rows(feedback.rows(others), k, banned)
        return ranked


def _rounded_products(users, items, dtype):
    """``users @ items.T`` of float64 ``users``, rounded to ``dtype``: CPU tensors, computed
    in numpy (``_serving.rounded_products``)."""
    return torch.from_numpy(_serving.rounded_products(
        users.numpy(), items.numpy(), torch.empty(0, dtype=dtype).numpy().dtype))


# The largest confidence of each dtype (see ``_check_confidence``).
_CONFIDENCE_LIMITS = {dtype: float(np.sqrt(np.finfo(dtype).max))
                      for dtype in ("float32", "float64")}


def _gram64(factors):
    """``factors.T @ factors`` in float64, the precision of fold-in (see Notes)."""
    wide = factors.astype(np.float64)
    return wide.T @ wide
