"""Watch the GAN train: losses, validation score and early stopping, as a plot.

``GANAugmenter(early_stopping=True)`` holds out 10% of each user's
interactions, scores the generator's ranking of them (NDCG@20) after every
epoch, stops once the score has not improved for ``n_iter_no_change`` epochs
and keeps the best epoch's generator. ``verbose=1`` shows a progress bar with
the current losses. ``sklearn_agn.plotting.plot_history`` draws
``loss_curve_``, ``discriminator_loss_curve_`` and ``validation_scores_``:
both losses, and the validation score on a second axis with
the kept epoch marked. Needs matplotlib (``pip install sklearn-agn[plot]``);
no window opens, the figure is written to a PNG file.

Run: ``python examples/plot_gan_history.py [out.png]`` (about 10 s on a laptop
CPU; without a path the PNG goes to a new temporary directory).
"""

import os
import sys
import tempfile

try:
    import matplotlib
except ImportError:
    sys.exit("This example needs matplotlib: pip install sklearn-agn[plot]")
matplotlib.use("Agg")  # draw to files only, no GUI
import matplotlib.pyplot as plt  # noqa: E402

from sklearn_agn import GANAugmenter  # noqa: E402
from sklearn_agn.datasets import make_interactions  # noqa: E402
from sklearn_agn.plotting import plot_history  # noqa: E402

X = make_interactions(1000, 300, 12000, random_state=0)
gan = GANAugmenter(early_stopping=True, n_iter_no_change=4, max_iter=40,
                   verbose=1, random_state=0).fit(X)

kept = gan.validation_scores_.index(gan.best_validation_score_) + 1
print(f"ran {gan.n_iter_} of {gan.max_iter} epochs; kept epoch {kept} "
      f"(validation NDCG@{gan.validation_k} = {gan.best_validation_score_:.4f})")
print("epoch  generator loss  discriminator loss  validation NDCG")
curves = zip(gan.loss_curve_, gan.discriminator_loss_curve_, gan.validation_scores_)
for epoch, values in enumerate(curves, start=1):
    print(f"{epoch:>5} {values[0]:>15.4f} {values[1]:>19.4f} {values[2]:>16.4f}")

fig, ax = plt.subplots(figsize=(7, 4))
plot_history(gan, ax=ax)
fig.tight_layout()
path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.mkdtemp(), "gan_history.png")
fig.savefig(path, dpi=100)
print(f"history plot saved to {path}")
