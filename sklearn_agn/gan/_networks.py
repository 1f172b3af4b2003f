"""The CFGAN networks: a generator that can read side information, and a discriminator.

The generator reads a user's row (the condition) through an ``embedding_bag``
sum, i.e. a sparse-times-dense product, so a row is never densified on the way
in. In training it scores only the items a row's loss reads (its observed and
sampled items, :meth:`Generator.pair_scores`), and the discriminator reads
those scores through a weighted ``embedding_bag``. The gradients of the
per-item tables (``item_tables``) are sparse, on the rows read: a training
step costs the batch's interactions and samples, not ``batch_size * n_items``
or the catalogue. Inference
scores every item, ``(batch_size, n_items)`` at a time.

Side information enters in two places:

- user attributes are a second condition, added to the first hidden layer, so
  that a user whose row is empty still gets a personal score;
- item attributes give every item an output embedding and bias from its
  attributes (a linear map ``a_i -> (e_i, c_i)``) on top of the free
  per-item ones: ``logit_ui = h_u . (w_i + e_i) + b_i + c_i``. An item with no
  training interaction (a cold item) has no free part and is scored from its
  attributes alone; training drops the free part of a random share of warm
  items too (item dropout, as in DropoutNet), so that the attribute path has to
  stand on its own.
"""

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn
from torch.nn import functional as F

ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}


class SparseRows:
    """A batch of sparse rows in the layout ``embedding_bag`` reads.

    ``rows``/``indices`` are the row-sorted coordinates of the stored
    entries; their values are ``weights`` (a tensor aligned with them), or
    ones when None.
    """

    def __init__(self, rows, indices, n_rows, n_cols, weights=None):
        self.n_rows, self.n_cols = n_rows, n_cols
        self.rows, self.indices, self.weights = rows, indices, weights
        counts = torch.bincount(rows, minlength=n_rows)
        self.offsets = torch.cumsum(counts, 0) - counts

    @classmethod
    def from_csr(cls, X, device):
        """The sparsity pattern of CSR ``X`` (its values are ignored)."""
        counts = torch.from_numpy(X.indptr[1:] - X.indptr[:-1])
        rows = torch.repeat_interleave(torch.arange(X.shape[0]), counts).to(device)
        indices = torch.from_numpy(X.indices).to(device=device, dtype=torch.int64)
        return cls(rows, indices, *X.shape)

    def drop_rows(self, dropped):
        """The same batch with the rows where bool tensor ``dropped`` holds emptied."""
        keep = ~dropped[self.rows]
        weights = None if self.weights is None else self.weights[keep]
        return SparseRows(self.rows[keep], self.indices[keep], self.n_rows, self.n_cols, weights)


def _sparse_linear(rows, weight):
    """``rows @ weight`` for sparse ``rows``; ``weight`` is (n_items, width).

    Gradients flow to ``rows.weights`` and, as a sparse tensor holding the
    rows' items only, to ``weight``.
    """
    return F.embedding_bag(
        rows.indices, weight, rows.offsets, mode="sum", per_sample_weights=rows.weights,
        sparse=True,
    )


def _features_linear(features, weight):
    """``features @ weight`` for a dense or sparse (COO) tensor of features."""
    if features.is_sparse:
        return torch.sparse.mm(features, weight)
    return features @ weight


def features_tensor(features, device=None):
    """A float32 torch tensor of a dense array or a sparse (COO) one of a scipy matrix."""
    if sp.issparse(features):
        coo = sp.coo_matrix(features)
        indices = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
        values = torch.from_numpy(coo.data.astype(np.float32))
        tensor = torch.sparse_coo_tensor(indices, values, coo.shape, check_invariants=True)
        tensor = tensor.coalesce()
    else:
        tensor = torch.as_tensor(np.asarray(features, dtype=np.float32))
    return tensor if device is None else tensor.to(device)


def _mlp_tail(sizes, out_features):
    """The linear layers after the first: ``sizes[0] -> ... -> out_features``."""
    widths = list(sizes) + [out_features]
    return nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))


class Generator(nn.Module):
    """Condition (a sparse user row, user attributes) + noise -> a score in (0, 1) per item.

    Parameters
    ----------
    n_items : int
    noise_dim : int
    hidden_sizes : tuple of int
    activation : str
        A key of ``ACTIVATIONS``.
    item_attributes : tensor of shape (n_items, n_item_features) or None
        Dense or sparse COO float32; kept as a buffer.
    warm_items : bool tensor of shape (n_items,) or None
        Items that hold a free embedding (they had training interactions);
        required with ``item_attributes``.
    n_user_features : int
        Width of the user attributes ``forward`` receives; 0 for none.
    """

    def __init__(
        self,
        n_items,
        noise_dim,
        hidden_sizes,
        activation,
        *,
        item_attributes=None,
        warm_items=None,
        n_user_features=0,
    ):
        super().__init__()
        self.noise_dim = noise_dim
        self.activation = activation
        self.n_user_features = n_user_features
        width = hidden_sizes[0]
        self.condition_weight = nn.Parameter(torch.empty(n_items, width))
        self.noise_weight = nn.Parameter(torch.empty(noise_dim, width))
        self.user_feature_weight = nn.Parameter(torch.empty(n_user_features, width))
        self.bias = nn.Parameter(torch.empty(width))
        # The layers between the first hidden layer and the last (none for one).
        self.hidden = _mlp_tail(hidden_sizes[:-1], hidden_sizes[-1])
        self.item_weight = nn.Parameter(torch.empty(n_items, hidden_sizes[-1]))
        self.item_bias = nn.Parameter(torch.empty(n_items))
        if item_attributes is None:
            self.item_attributes, self.warm_items, self.attribute_weight = None, None, None
        else:
            self.register_buffer("item_attributes", item_attributes)
            self.register_buffer("warm_items", warm_items)
            # One more output column: the attribute part of the item's bias.
            self.attribute_weight = nn.Parameter(
                torch.empty(item_attributes.shape[1], hidden_sizes[-1] + 1)
            )

    def user_representation(self, rows, noise, user_features=None):
        """The last hidden layer ``h_u`` for a batch, shape ``(n_rows, hidden_sizes[-1])``."""
        act = ACTIVATIONS[self.activation]
        h = _sparse_linear(rows, self.condition_weight) + noise @ self.noise_weight + self.bias
        if user_features is not None:
            # None: attributes unknown, the same as all zeros.
            h = h + user_features @ self.user_feature_weight
        h = act(h)
        for layer in self.hidden:
            h = act(layer(h))
        return h

    def item_tables(self):
        """The parameters with a row per item, whose training gradients are sparse."""
        return [self.condition_weight, self.item_weight]

    def item_representation(self, free=None):
        """Item output embeddings ``(n_items, width)`` and biases ``(n_items,)``.

        ``free`` (bool, per item) says which items use their free embedding and
        bias; by default the warm items. Without item attributes every item
        uses its free parameters.
        """
        if self.item_attributes is None:
            return self.item_weight, self.item_bias
        if free is None:
            free = self.warm_items
        from_attributes = _features_linear(self.item_attributes, self.attribute_weight)
        free = free.to(self.item_weight.dtype)
        embedding = self.item_weight * free[:, None] + from_attributes[:, :-1]
        bias = self.item_bias * free + from_attributes[:, -1]
        return embedding, bias

    def item_rows(self, items, free=None):
        """:meth:`item_representation` of the items of int tensor ``items`` only.

        With item attributes, the attribute map runs on these items alone,
        not on the catalogue.
        """
        embedding = F.embedding(items, self.item_weight, sparse=True)
        bias = self.item_bias.index_select(0, items)
        if self.item_attributes is None:
            return embedding, bias
        if free is None:
            free = self.warm_items
        from_attributes = _features_linear(
            self.item_attributes.index_select(0, items), self.attribute_weight
        )
        free = free.index_select(0, items).to(embedding.dtype)
        return (
            embedding * free[:, None] + from_attributes[:, :-1],
            bias * free + from_attributes[:, -1],
        )

    def pair_scores(self, rows, noise, pairs, user_features=None, free_items=None):
        """Scores of the ``(row, item)`` pairs ``pairs`` (two int tensors), for training.

        The same scores as ``forward(...)[pairs]``, computed on the distinct
        items of ``pairs`` only: a batch whose rows share their sampled items
        costs ``n_rows * n_distinct_items``, not ``n_rows * n_items``.
        """
        h = self.user_representation(rows, noise, user_features)
        distinct, column = torch.unique(pairs[1], return_inverse=True)
        embedding, bias = self.item_rows(distinct, free_items)
        return torch.sigmoid((h @ embedding.T + bias)[pairs[0], column])

    def forward(self, rows, noise, user_features=None, free_items=None):
        h = self.user_representation(rows, noise, user_features)
        embedding, bias = self.item_representation(free_items)
        return torch.sigmoid(h @ embedding.T + bias)

    def init_args(self):
        """Constructor arguments of a generator of this one's current shape, as plain data.

        Item attributes come back as a scipy CSR matrix or an ndarray and the
        warm items as a bool ndarray, so that a format that stores no torch
        tensor (``sklearn_agn.persistence``) can rebuild the module with
        :meth:`from_init_args` and then load its parameters.
        """
        args = {
            "n_items": int(self.item_weight.shape[0]),
            "noise_dim": int(self.noise_dim),
            "hidden_sizes": [int(self.condition_weight.shape[1])]
            + [int(layer.out_features) for layer in self.hidden],
            "activation": self.activation,
            "n_user_features": int(self.n_user_features),
            "item_attributes": None,
            "warm_items": None,
        }
        if self.item_attributes is not None:
            attributes = self.item_attributes.detach().cpu()
            if attributes.is_sparse:
                attributes = attributes.coalesce()
            if attributes.is_sparse:
                indices, values = attributes.indices().numpy(), attributes.values().numpy()
                args["item_attributes"] = sp.csr_matrix(
                    (values, (indices[0], indices[1])), shape=tuple(attributes.shape)
                )
            else:
                args["item_attributes"] = attributes.numpy().copy()
            args["warm_items"] = self.warm_items.cpu().numpy().copy()
        return args

    @classmethod
    def from_init_args(cls, args):
        """A generator of the shape :meth:`init_args` describes (parameters not loaded)."""
        attributes, warm = args["item_attributes"], args["warm_items"]
        if attributes is not None:
            attributes = features_tensor(attributes)
            warm = torch.as_tensor(warm, dtype=torch.bool)
        return cls(
            args["n_items"],
            args["noise_dim"],
            tuple(args["hidden_sizes"]),
            args["activation"],
            item_attributes=attributes,
            warm_items=warm,
            n_user_features=args["n_user_features"],
        )

    @torch.no_grad()
    def add_items(self, item_attributes):
        """Append cold items described by ``item_attributes``, a dense or sparse (COO) tensor.

        The new rows take the buffer's layout and dtype, whichever they come in.
        """
        n_new, width = item_attributes.shape[0], self.item_weight.shape[1]
        if self.item_attributes.is_sparse:
            item_attributes = item_attributes.to_sparse()
        else:
            item_attributes = item_attributes.to_dense()
        attributes = torch.cat([self.item_attributes, item_attributes.to(self.item_attributes)])
        self.item_attributes = attributes.coalesce() if attributes.is_sparse else attributes
        self.warm_items = torch.cat([self.warm_items, torch.zeros(n_new, dtype=torch.bool)])
        # Cold items never use their free parameters; zeros keep the shapes aligned.
        self.item_weight = nn.Parameter(torch.cat([self.item_weight, torch.zeros(n_new, width)]))
        self.item_bias = nn.Parameter(torch.cat([self.item_bias, torch.zeros(n_new)]))
        self.condition_weight = nn.Parameter(
            torch.cat([self.condition_weight, torch.zeros(n_new, self.condition_weight.shape[1])])
        )


class Discriminator(nn.Module):
    """(condition, real row or masked generated row) -> logit of "real"."""

    def __init__(self, n_items, hidden_sizes, activation):
        super().__init__()
        self.activation = activation
        self.condition_weight = nn.Parameter(torch.empty(n_items, hidden_sizes[0]))
        self.input_weight = nn.Parameter(torch.empty(n_items, hidden_sizes[0]))
        self.bias = nn.Parameter(torch.empty(hidden_sizes[0]))
        self.tail = _mlp_tail(hidden_sizes, 1)

    def item_tables(self):
        """The parameters with a row per item, whose training gradients are sparse."""
        return [self.condition_weight, self.input_weight]

    def forward(self, rows, fake=None):
        """Logits for the real rows (``fake is None``) or for generated ones.

        ``fake`` is a :class:`SparseRows` whose weights are the generated
        scores on the items the discriminator is shown (zero elsewhere).
        """
        act = ACTIVATIONS[self.activation]
        # In user-based CFGAN the real row is the condition itself.
        h = _sparse_linear(rows, self.condition_weight) + self.bias
        h = h + _sparse_linear(rows if fake is None else fake, self.input_weight)
        h = act(h)
        for layer in self.tail[:-1]:
            h = act(layer(h))
        return self.tail[-1](h).squeeze(1)


def init_weights(module, generator):
    """Glorot-uniform weights and small uniform biases, drawn from ``generator``.

    Drawing from an explicit ``torch.Generator`` rather than torch's global
    seed makes a fit reproducible from ``random_state`` alone. Item output
    embeddings are stored ``(n_items, width)``, the transpose of a linear
    layer's weight: Glorot's bound is symmetric in the two sizes.
    """
    with torch.no_grad():
        for param in module.parameters():
            if param.ndim == 2 and param.numel():
                nn.init.xavier_uniform_(param, generator=generator)
            else:
                param.uniform_(-0.01, 0.01, generator=generator)
