"""Matrix factorisation for implicit feedback, trained by weighted ALS."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from ._als import SOLVERS, als, solve_rows, torch_threads
from ._base import BaseRecommender
from ._torch_utils import resolve_device, seeded_generator, torch_dtype
from ._fit_state import atomic_fit
from ._validation import check_interactions


class MFRecommender(BaseRecommender):
    """Implicit-feedback matrix factorisation recommender (weighted ALS).

    Learns item factors from a users x items matrix of implicit feedback by
    weighted alternating least squares (Hu, Koren & Volinsky, 2008): every
    stored entry is a positive preference with confidence
    ``1 + alpha * value``, every missing entry a negative one with confidence
    1. Generated feedback from :class:`~sklearn_agn.GANAugmenter` (values in
    (0, 1)) therefore counts as positive, but less than real interactions.

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
        Scales the penalty of each row with its number of interactions:
        ``lambda_u = regularization * (n_u + 1) ** regularization_exponent``.
        0 gives the classic constant penalty; 1 the frequency-scaled penalty
        recommended by Rendle et al. (2021).
    alpha : float, default=2.0
        Confidence scale: an entry of value ``r`` has confidence ``1 + alpha * r``.
    n_iter : int, default=15
        Number of ALS sweeps (users, then items) in ``fit``.
    solver : {"cholesky", "cg"}, default="cholesky"
        Least-squares solver of the ALS sweeps of ``fit``. "cholesky" solves
        every user's and item's normal equations exactly (batched Cholesky
        factorisations; cost grows as ``n_factors ** 3`` per row). "cg" runs
        ``cg_steps`` conjugate-gradient steps per sweep, warm-started from the
        previous sweep (Takacs et al., 2011; the default of ``implicit``):
        inexact per sweep but converging over the sweeps, and several times
        faster from about 32 factors on. Folding users in (``predict``,
        ``fold_in``, ``score``) and ``partial_fit`` always solve exactly.
    cg_steps : int, default=3
        Conjugate-gradient steps per half-sweep with ``solver="cg"``; ignored
        otherwise. ``n_factors`` steps solve exactly (up to rounding).
    proximal_reg : float, default=10.0
        Used by ``partial_fit`` after the first call: weight of the penalty
        ``||y_i - y_i_old||^2`` that keeps updated item factors close to the
        current ones. Larger values adapt more slowly.
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
        Number of CPU threads torch may use in ``fit``, ``partial_fit`` and
        prediction, set with ``torch.set_num_threads`` for the duration of
        the call and restored afterwards. None leaves torch's setting
        unchanged (all cores by default); -1 means all CPUs, -2 all but one.
        The setting is process-wide while a call runs: under joblib or Dask
        with thread-based workers, prefer None and limit threads per worker
        (e.g. ``threadpoolctl.threadpool_limits`` or ``OMP_NUM_THREADS``).
    dtype : {"float32", "float64"}, default="float32"
        Floating type of the factors and the solver.
    device : {"auto", "cpu", "cuda"} or str, default="auto"
        Torch device of the solver; "auto" picks a CUDA GPU when torch sees one.
        Fitted factors are stored as numpy arrays, so a model fitted on a GPU
        predicts on a CPU-only machine after unpickling.
    random_state : int, RandomState instance or None, default=None
        Seed of the initial item factors.
    verbose : int, default=0
        Show a progress bar over ALS sweeps when > 0.

    Attributes
    ----------
    item_factors_ : ndarray of shape (n_items, n_factors)
        Learned item factors.
    n_features_in_ : int
        Number of items seen in ``fit``.
    n_iter_ : int
        Number of ALS sweeps run by the last ``fit`` or ``partial_fit``.

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

    Seen-item filter: entries with value >= 1 are a user's real interactions
    and are never recommended back; entries in (0, 1) are generated feedback
    and stay eligible (SPEC data contract).

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
        "solver": [StrOptions(set(SOLVERS))],
        "cg_steps": [Interval(Integral, 1, None, closed="left")],
        "proximal_reg": [Interval(Real, 0, None, closed="left")],
        "dtype": [StrOptions({"float32", "float64"})],
        "device": [str],
        "n_jobs": [Interval(Integral, None, -1, closed="right"),
                   Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_factors=64,
        *,
        regularization=0.3,
        regularization_exponent=1.0,
        alpha=2.0,
        n_iter=15,
        solver="cholesky",
        cg_steps=3,
        proximal_reg=10.0,
        k=10,
        metric="ndcg",
        batch_size=1024,
        dtype="float32",
        device="auto",
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.n_factors = n_factors
        self.regularization = regularization
        self.regularization_exponent = regularization_exponent
        self.alpha = alpha
        self.n_iter = n_iter
        self.solver = solver
        self.cg_steps = cg_steps
        self.proximal_reg = proximal_reg
        self.k = k
        self.metric = metric
        self.batch_size = batch_size
        self.dtype = dtype
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

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
        X = self._check_confidence(check_interactions(self, X, reset=True))
        with self._threads():
            return self._fit_als(X)

    def _validate_rows(self, X):
        return self._check_confidence(super()._validate_rows(X))

    def _check_confidence(self, X):
        """Reject values whose confidence ``alpha * value`` would overflow the solver's dtype."""
        # The normal equations hold sums of confidence times squared factors:
        # past the square root of the dtype's maximum they overflow to inf.
        limit = np.sqrt(np.finfo(self.dtype).max)
        if X.nnz and self.alpha * X.data.max() > limit:
            raise ValueError(
                f"X holds values too large for dtype={self.dtype!r}: alpha * max(X) = "
                f"{self.alpha * X.data.max():.3g} exceeds {limit:.3g}. Rescale X (e.g. "
                "log1p of counts) or use dtype='float64'."
            )
        return X

    def _threads(self):
        return torch_threads(self.n_jobs)

    def _fit_als(self, X):
        device, dtype = resolve_device(self.device), torch_dtype(self.dtype)
        generator = seeded_generator(check_random_state(self.random_state))
        init = 0.01 * torch.randn(X.shape[1], self.n_factors, generator=generator,
                                  dtype=torch.float64)
        bar = tqdm(total=self.n_iter, desc="ALS", disable=not self.verbose, leave=False)
        try:
            factors = als(X, init.to(device=device, dtype=dtype), n_iter=self.n_iter,
                          solver=self.solver, cg_steps=self.cg_steps,
                          callback=lambda *_: bar.update(), **self._solver_params())
        finally:
            bar.close()
        # Attributes are set only once training is complete: an interrupted fit
        # leaves the estimator as it was before.
        self._set_item_factors(factors.cpu().numpy())
        self.n_iter_ = self.n_iter
        return self

    def _set_item_factors(self, factors):
        """Store new item factors and the Gram matrix that goes with them."""
        self.item_factors_ = factors
        # Kept with a reference to the factors it was computed from, so a
        # replaced ``item_factors_`` is detected (pickling keeps the identity).
        self._item_gram = (factors, factors.T @ factors)

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def partial_fit(self, X, y=None):
        """Adapt the item factors to new feedback without a full refit.

        The first call fits from scratch on ``X``. Later calls fold the rows of
        ``X`` in, then re-solve the factors of the items those rows touch with
        a proximal penalty ``proximal_reg * ||y_i - y_i_old||^2``, so recent
        feedback moves the model while what was learned before is kept.
        Items untouched by ``X`` keep their factors. The catalogue is fixed.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            New feedback: rows of new or returning users.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : MFRecommender
            The updated estimator.
        """
        first_call = not hasattr(self, "item_factors_")
        X = self._check_confidence(check_interactions(self, X, reset=first_call))
        with self._threads():
            if first_call:
                return self._fit_als(X)
            device, dtype = resolve_device(self.device), torch_dtype(self.dtype)
            items = torch.from_numpy(self.item_factors_).to(device=device, dtype=dtype)
            users = solve_rows(X, items, gram=self._gram(device, dtype),
                               **self._solver_params())
            Xt = X.T.tocsr()
            touched = np.flatnonzero(np.diff(Xt.indptr))
            # Only the touched items have equations to solve: the others keep
            # their factors (an empty row's proximal solution is not its old
            # factor, so they must not be re-solved).
            updated = solve_rows(Xt[touched], users, prox=items[torch.from_numpy(touched)
                                                                .to(device)],
                                 prox_reg=self.proximal_reg, **self._solver_params())
            new_factors = self.item_factors_.copy()
            new_factors[touched] = updated.cpu().numpy()
        # The cached Gram matrix is recomputed for the new factors.
        self._set_item_factors(new_factors)
        self.n_iter_ = 1
        return self

    def _solver_params(self):
        return dict(alpha=self.alpha, regularization=self.regularization,
                    regularization_exponent=self.regularization_exponent)

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
        X = self._validate_rows(X)
        with self._threads():
            return np.vstack([self._fold_in(X[rows]).cpu().numpy()
                              for rows in self._batches(X.shape[0])])

    def _gram(self, device, dtype):
        """``item_factors_.T @ item_factors_``, cached at fit time, as a tensor."""
        check_is_fitted(self)
        cached = getattr(self, "_item_gram", None)
        if cached is not None and cached[0] is self.item_factors_:
            gram = cached[1]
        else:  # factors set by hand, or a model pickled before the cache existed
            gram = self.item_factors_.T @ self.item_factors_
        return torch.from_numpy(gram).to(device=device, dtype=dtype)

    def _fold_in(self, X):
        device, dtype = resolve_device(self.device), torch_dtype(self.dtype)
        items = torch.from_numpy(self.item_factors_).to(device=device, dtype=dtype)
        return solve_rows(X, items, gram=self._gram(device, dtype), **self._solver_params())

    def _score_rows(self, X):
        users = self._fold_in(X)
        items = torch.from_numpy(self.item_factors_).to(device=users.device, dtype=users.dtype)
        return (users @ items.T).cpu().numpy()
