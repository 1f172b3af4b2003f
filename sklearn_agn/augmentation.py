"""Densify sparse interaction rows with a conditional GAN (CFGAN)."""

import copy
import numbers
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from . import _cfgan
from ._torch_utils import resolve_device
from ._fit_state import atomic_fit
from ._validation import (check_interactions, generated_flags, mark_generated,
                          same_sparse_container)
from .model_selection import holdout_split

__all__ = ["GANAugmenter"]


class GANAugmenter(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Add GAN-generated feedback to the sparse rows of an interaction matrix.

    A CFGAN (Chae et al., 2018) learns what users' interaction rows look like:
    its generator reads a user's row (the condition), plus optional random
    noise, and outputs a score in (0, 1) for every item; its discriminator
    tells the real row from the generator's scores, shown only on the user's
    observed items plus a random sample of unobserved ones (partial masking).
    The generator is also pulled towards zero on another random sample of
    unobserved items (zero reconstruction). This is CFGAN's "ZP" scheme, its
    strongest; setting ``pm_ratio=0`` or ``zr_coef=0`` gives the "ZR" or "PM"
    variants.

    ``transform`` keeps every real interaction (value 1 by default) and, for
    each row with fewer than ``sparse_threshold`` interactions, adds the
    ``n_generated`` unobserved items the generator scores highest, with a
    weight strictly between 0 and 1 so that any downstream estimator can tell
    generated feedback from real feedback (real values are always >= 1).

    The model is user-based: rows are samples and a row seen in ``fit`` and a
    brand-new row are treated the same way (the generator conditions on the
    row), so ``transform`` works on users never seen in ``fit``. Only the
    sparsity pattern of ``X`` is learned from; its values are ignored.

    Parameters
    ----------
    sparse_threshold : int, default=20
        Rows with fewer real interactions than this count as sparse and get
        generated feedback; other rows pass through with no generated entry.
        0 disables augmentation.

    n_generated : int or float, default=10
        Generated items per sparse row. An int is a count; a float is a
        multiple of the row's own interaction count, rounded up (so an empty
        row gets none). Never more than the row's unobserved items.

    generated_weight : float in (0, 1) or "score", default="score"
        Value stored for a generated entry: a constant, or the generator's
        score of the item (in (0, 1), the largest float below 1 if it rounds
        up to 1).

    binarize : bool, default=True
        Store 1 for every real interaction. When False the real values are
        kept as they are and must all be >= 1, the contract that keeps them
        apart from generated weights; smaller values raise a ValueError.

    noise_dim : int, default=16
        Size of the standard normal noise fed to the generator with the
        condition; 0 makes the generator a deterministic function of the row.
        ``transform`` and :meth:`score_items` hold the noise at its mean
        (zero); :meth:`sample` draws it.

    g_hidden_sizes : tuple of int, default=(400,)
        Widths of the generator's hidden layers.

    d_hidden_sizes : tuple of int, default=(125,)
        Widths of the discriminator's hidden layers.

    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        Activation of the hidden layers of both networks.

    g_learning_rate : float, default=1e-3
        Adam learning rate of the generator.

    d_learning_rate : float, default=1e-3
        Adam learning rate of the discriminator.

    g_weight_decay : float, default=1e-3
        L2 penalty on the generator's weights.

    g_steps : int, default=4
        Passes over the rows that update the generator, per epoch.

    d_steps : int, default=2
        Passes over the rows that update the discriminator, per epoch.

    zr_ratio : float in [0, 1], default=0.7
        Share of each row's unobserved items, sampled afresh for every
        mini-batch, whose generator score is pulled to zero.

    pm_ratio : float in [0, 1], default=0.1
        Share of each row's unobserved items, sampled afresh for every
        mini-batch, on which the discriminator also sees the generator's
        scores (a real row holds zeros there).

    zr_coef : float, default=0.1
        Weight of the zero-reconstruction penalty in the generator's loss.

    batch_size : int, default=128
        Rows per mini-batch, in training and in inference; memory grows as
        ``batch_size * n_items``.

    max_epochs : int, default=40
        Maximum number of epochs (``d_steps`` then ``g_steps`` passes).

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of each row's interactions, train on
        the rest, track the generator's NDCG@``validation_k`` ranking of the
        held-out items (conditioning on the rest) after every epoch, stop after
        ``n_iter_no_change`` epochs without improvement and keep the best
        epoch's generator. Nothing outside ``X`` is used.

    validation_fraction : float in (0, 1), default=0.1
        Share of each row's interactions held out when ``early_stopping``.

    n_iter_no_change : int, default=10
        Epochs without a better validation score before stopping.

    validation_k : int, default=20
        Cut-off of the validation NDCG (capped at the number of items).

    device : str, default="auto"
        Torch device: "cpu", "cuda", "cuda:N", or "auto" (a GPU when torch
        sees one). The fitted generator is always stored on the CPU.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, noise, negative sampling and
        the early-stopping split. An int gives identical results from run to
        run on the CPU (GPU kernels may add nondeterminism).

    verbose : int, default=0
        Show a progress bar with the current losses during ``fit``.

    Attributes
    ----------
    generator_ : torch.nn.Module
        The trained generator, on the CPU.

    history_ : dict of list of float
        Per epoch: ``"generator_loss"``, ``"discriminator_loss"`` and
        ``"validation_score"`` (NaN without ``early_stopping``).

    n_iter_ : int
        Number of epochs run.

    best_epoch_ : int
        Epoch (from 1) whose generator is kept: the best validation epoch with
        ``early_stopping``, else the last.

    item_popularity_ : ndarray of shape (n_items,)
        Share of training rows that hold each item; :meth:`sample` starts its
        rows from it.

    row_lengths_ : ndarray of shape (n_users,)
        Interactions per training row; :meth:`sample` draws the lengths of its
        rows from them.

    n_features_in_ : int
        Number of items.

    feature_names_in_ : ndarray of shape (n_items,)
        Item names, when ``X`` was a DataFrame with string column names.

    See Also
    --------
    sklearn_agn.MFRecommender : Matrix factorisation that weighs generated
        feedback below real feedback.
    sklearn_agn.model_selection.holdout_split : Per-user hold-out split.

    Notes
    -----
    ``transform`` returns a sparse matrix, so ``set_output(transform="pandas")``
    (or "polars") cannot apply: scikit-learn raises a ValueError saying so when
    ``transform`` is called with such an output configured.

    Ferrari Dacrema et al. (2021) found that tuned simple baselines match or
    beat CFGAN used as a recommender on its own splits; the benchmarks ship
    those baselines so the claim can be checked.

    References
    ----------
    .. [1] D.-K. Chae, J.-S. Kang, S.-W. Kim and J.-T. Lee, "CFGAN: A Generic
       Collaborative Filtering Framework based on Generative Adversarial
       Networks", CIKM 2018, pp. 137-146.
    .. [2] M. Ferrari Dacrema, S. Boglio, P. Cremonesi and D. Jannach, "A
       Troubling Analysis of Reproducibility and Progress in Recommender
       Systems Research", ACM TOIS 39(2), 2021.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from sklearn_agn.augmentation import GANAugmenter
    >>> rng = np.random.RandomState(0)
    >>> X = sp.csr_matrix((rng.random_sample((40, 30)) < 0.3).astype(float))
    >>> aug = GANAugmenter(sparse_threshold=8, n_generated=3, max_epochs=2,
    ...                    random_state=0).fit(X)
    >>> X_aug = aug.transform(X)
    >>> X_aug.shape
    (40, 30)
    >>> bool(((X_aug.data == 1) | ((X_aug.data > 0) & (X_aug.data < 1))).all())
    True
    >>> aug.sample(5, random_state=0).shape
    (5, 30)
    """

    _parameter_constraints = {
        "sparse_threshold": [Interval(Integral, 0, None, closed="left")],
        "n_generated": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, None, closed="neither"),
        ],
        "generated_weight": [
            Interval(Real, 0, 1, closed="neither"),
            StrOptions({"score"}),
        ],
        "binarize": ["boolean"],
        "noise_dim": [Interval(Integral, 0, None, closed="left")],
        "g_hidden_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "d_hidden_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(_cfgan._ACTIVATIONS))],
        "g_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "d_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "g_weight_decay": [Interval(Real, 0, None, closed="left")],
        "g_steps": [Interval(Integral, 1, None, closed="left")],
        "d_steps": [Interval(Integral, 1, None, closed="left")],
        "zr_ratio": [Interval(Real, 0, 1, closed="both")],
        "pm_ratio": [Interval(Real, 0, 1, closed="both")],
        "zr_coef": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "validation_k": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        sparse_threshold=20,
        n_generated=10,
        generated_weight="score",
        binarize=True,
        noise_dim=16,
        g_hidden_sizes=(400,),
        d_hidden_sizes=(125,),
        activation="sigmoid",
        g_learning_rate=1e-3,
        d_learning_rate=1e-3,
        g_weight_decay=1e-3,
        g_steps=4,
        d_steps=2,
        zr_ratio=0.7,
        pm_ratio=0.1,
        zr_coef=0.1,
        batch_size=128,
        max_epochs=40,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        validation_k=20,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.sparse_threshold = sparse_threshold
        self.n_generated = n_generated
        self.generated_weight = generated_weight
        self.binarize = binarize
        self.noise_dim = noise_dim
        self.g_hidden_sizes = g_hidden_sizes
        self.d_hidden_sizes = d_hidden_sizes
        self.activation = activation
        self.g_learning_rate = g_learning_rate
        self.d_learning_rate = d_learning_rate
        self.g_weight_decay = g_weight_decay
        self.g_steps = g_steps
        self.d_steps = d_steps
        self.zr_ratio = zr_ratio
        self.pm_ratio = pm_ratio
        self.zr_coef = zr_coef
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.validation_k = validation_k
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, X, y=None):
        """Train the CFGAN on the rows of ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            Interactions; any stored positive value counts as one.
        y : None
            Ignored.

        Returns
        -------
        self : GANAugmenter
            The fitted transformer.
        """
        X = check_interactions(self, X, reset=True)
        self._check_real_values(X)
        g_hidden_sizes = _check_layer_sizes(self.g_hidden_sizes, "g_hidden_sizes")
        d_hidden_sizes = _check_layer_sizes(self.d_hidden_sizes, "d_hidden_sizes")
        device = resolve_device(self.device)
        rng = check_random_state(self.random_state)

        X_train, validation = X, None
        if self.early_stopping:
            X_train, X_held_out = holdout_split(X, self.validation_fraction, random_state=rng)
            if X_held_out.nnz == 0:
                raise ValueError(
                    f"validation_fraction={self.validation_fraction} holds out no "
                    "interaction of X: raise it, or set early_stopping=False."
                )
            validation = (X_train, X_held_out)

        params = {
            "noise_dim": self.noise_dim,
            "g_hidden_sizes": g_hidden_sizes,
            "d_hidden_sizes": d_hidden_sizes,
            "activation": self.activation,
            "g_learning_rate": self.g_learning_rate,
            "d_learning_rate": self.d_learning_rate,
            "alpha": self.g_weight_decay,
            "g_steps": self.g_steps,
            "d_steps": self.d_steps,
            "zr_ratio": self.zr_ratio,
            "pm_ratio": self.pm_ratio,
            "zr_coef": self.zr_coef,
            "batch_size": self.batch_size,
            "max_epochs": self.max_epochs,
            "n_iter_no_change": self.n_iter_no_change,
            "validation_k": self.validation_k,
        }
        seed = int(rng.randint(np.iinfo(np.int32).max - 1))
        with tqdm(
            total=self.max_epochs, desc="GANAugmenter", disable=not self.verbose, leave=False
        ) as progress:
            generator, history, best_epoch = _cfgan.fit_cfgan(
                X_train,
                validation=validation,
                params=params,
                device=device,
                seed=seed,
                progress=progress if self.verbose else None,
            )
        # Learned attributes are set together, once training is complete, so
        # that an interrupted fit leaves the estimator as it was.
        self.generator_, self.history_, self.best_epoch_ = generator, history, best_epoch
        self.n_iter_ = len(history["generator_loss"])
        self.item_popularity_ = np.bincount(X.indices, minlength=X.shape[1]) / X.shape[0]
        self.row_lengths_ = np.diff(X.indptr)
        return self

    def transform(self, X):
        """Add generated feedback to the sparse rows of ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            Interaction rows, seen in ``fit`` or new. Not modified.

        Returns
        -------
        X_aug : csr_matrix or csr_array of shape (n_users, n_items)
            ``csr_array`` when ``X`` is a sparse array, else ``csr_matrix``,
            with ``X``'s float dtype. Real entries are 1 (or their value when
            ``binarize=False``); each row with fewer than ``sparse_threshold``
            interactions also holds its ``n_generated`` best-scored unobserved
            items with a weight in (0, 1). Other rows hold only real entries.
        """
        check_is_fitted(self)
        X_in = X
        X = check_interactions(self, X, reset=False)
        self._check_real_values(X)
        X_out = X.copy()
        if self.binarize:
            X_out.data[:] = 1

        counts = np.diff(X.indptr)
        if isinstance(self.n_generated, numbers.Integral):
            n_add = np.full(X.shape[0], self.n_generated, dtype=np.int64)
        else:
            n_add = np.ceil(self.n_generated * counts).astype(np.int64)
        n_add = np.where(counts < self.sparse_threshold, n_add, 0)
        n_add = np.minimum(n_add, X.shape[1] - counts)

        rows, items, scores = _cfgan.top_unobserved(
            *self._generator_on_device(), X, n_add, self.batch_size
        )
        if rows.size:
            below_one = np.nextafter(X.dtype.type(1), X.dtype.type(0))
            if self.generated_weight == "score":
                weights = np.clip(scores.astype(X.dtype), np.finfo(X.dtype).tiny, below_one)
            else:
                weights = np.full(rows.size, self.generated_weight, dtype=X.dtype)
            generated = sp.csr_matrix((weights, (rows, items)), shape=X.shape)
            # Generated items are unobserved: the sum only merges the patterns.
            X_out = (X_out + generated).tocsr()
        else:
            generated = sp.csr_matrix(X.shape, dtype=bool)
        return mark_generated(same_sparse_container(X_in, X_out), generated)

    def score_items(self, X):
        """Generator score of every item for every row of ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            Interaction rows, seen in ``fit`` or new.

        Returns
        -------
        scores : ndarray of shape (n_users, n_items), dtype float32
            Scores in (0, 1), noise held at its mean, computed in batches of
            ``batch_size`` rows. Observed items are scored too: exclude them
            to recommend (e.g. ``sklearn_agn._base.top_k(scores, k, exclude=X)``).
        """
        check_is_fitted(self)
        X = check_interactions(self, X, reset=False)
        return _cfgan.generator_scores(*self._generator_on_device(), X, self.batch_size)

    def sample(self, n_samples=1, random_state=None):
        """Draw brand-new synthetic users from the generator.

        Each synthetic row gets a length drawn from the training rows' lengths
        and starts from one item drawn by training popularity
        (``item_popularity_``); it then grows in rounds, each drawing as many
        new items as the row already holds (capped by its length), without
        replacement, weighted by the odds ``s / (1 - s)`` of the generator's
        score ``s`` given the items drawn so far and fresh noise (close to
        drawing each item with probability ``s``, given the row's length). No
        training row is copied: beyond the first item, which items appear
        together, and how often, comes from the generator.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to draw.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws; None uses numpy's global random state.

        Returns
        -------
        X_new : csr_matrix of shape (n_samples, n_items)
            The synthetic rows; every stored value is 1.
        """
        check_is_fitted(self)
        if (
            isinstance(n_samples, (bool, np.bool_))
            or not isinstance(n_samples, numbers.Integral)
            or n_samples < 1
        ):
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        rng = check_random_state(random_state)
        lengths = rng.choice(self.row_lengths_, size=n_samples)
        generator, device = self._generator_on_device()
        rows, items = _cfgan.sample_rows(
            generator,
            device,
            self.item_popularity_,
            lengths,
            self.batch_size,
            seed=int(rng.randint(np.iinfo(np.int32).max)),
        )
        return sp.csr_matrix(
            (np.ones(rows.size), (rows, items)), shape=(n_samples, self.n_features_in_)
        )

    def _generator_on_device(self):
        """``(generator, device)``: the fitted generator, copied to ``device`` unless it is the CPU.

        ``generator_`` stays on the CPU so that a fitted estimator pickles and
        loads anywhere; inference runs where ``device`` says.
        """
        device = resolve_device(self.device)
        if device.type == "cpu":
            return self.generator_, device
        return copy.deepcopy(self.generator_).to(device), device

    def _check_real_values(self, X):
        if generated_flags(X).any():
            raise ValueError(
                "X already holds generated feedback (it is the output of a "
                "GANAugmenter): augment the real interactions only."
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.positive_only = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _check_layer_sizes(sizes, name):
    sizes = (sizes,) if isinstance(sizes, numbers.Integral) else tuple(sizes)
    if not sizes or any(
        isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1 for s in sizes
    ):
        raise ValueError(f"{name} must be a non-empty sequence of positive ints, got {sizes!r}.")
    return tuple(int(s) for s in sizes)
