"""Notebook 06 (Tracker.jl issue #97): rectangular and truncated SVD.

``TruncationModel``: a tall 8x5 matrix with singular values (5, 4, 3, 2, 1),
the discarded ones (index >= k) multiplied by ``tail``. The loss is
L = <B, A_k> with A_k = U_k S_k V_k^H the best rank-k approximation (a
function of A while s_k > s_(k+1)). The exact pullback is
``svd_vjp(A, k=k)``; the commonly used truncated rule is the thin formula on
the kept triplets alone (``linalgad._reference.svd_vjp_truncated_naive``),
which drops the coupling to the discarded singular values and is exact only
when they are zero (tail = 0). ``rect_share`` is the part of the exact dA
outside range(U), i.e. the (I - U U^H) dU S^-1 V^H term of a tall SVD.
"""

import numpy as np

from ._base import Model

__all__ = ["TruncationModel", "truncation_view"]


class TruncationModel(Model):
    """result: ``k``, ``tail``, ``rel_error`` (naive vs exact), ``exact``,
    ``naive``, ``rect_share``, and the curves ``ks``/``error_vs_k``,
    ``tails``/``error_vs_tail``."""

    params = {"k": 2, "tail": 1.0, "seed": 0}
    figsize = (10.0, 3.3)
    spectrum = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    tails = np.linspace(0.0, 1.0, 21)

    def matrix(self, k, tail):
        from linalgad import testing

        s = self.spectrum.copy()
        s[k:] *= tail
        return testing.random_matrix((8, 5), "float64", spectrum=s, seed=self.seed)

    def _pair(self, k, tail):
        """(exact dA, naive dA) for L = <B, U_k S_k V_k^H>."""
        import linalgad as la
        from linalgad import _reference

        A = self.matrix(k, tail)
        G = np.random.default_rng(self.seed + 1).standard_normal(A.shape)
        (U, S, Vh), pullback = la.svd_vjp(A, k=k)
        dU = (G @ Vh.conj().T) * S
        dS = np.real(np.diagonal(U.conj().T @ G @ Vh.conj().T)).copy()
        dVh = S[:, None] * (U.conj().T @ G)
        exact = pullback(dU=dU, dS=dS, dVh=dVh)
        naive = _reference.svd_vjp_truncated_naive(U, S, Vh, dU, dS, dVh)
        return A, exact, naive

    @staticmethod
    def _rel(a, b):
        return float(np.linalg.norm(a - b) / np.linalg.norm(b))

    def error(self, k, tail):
        """Relative error of the naive rule against the exact one."""
        _, exact, naive = self._pair(k, tail)
        return self._rel(naive, exact)

    def compute(self):
        A, exact, naive = self._pair(self.k, self.tail)
        U = np.linalg.svd(A, full_matrices=False)[0]
        outside = exact - U @ (U.conj().T @ exact)                # (I - U U^H) dA
        ks = np.arange(1, len(self.spectrum) + 1)
        return {"k": self.k, "tail": self.tail, "exact": exact, "naive": naive,
                "rel_error": self._rel(naive, exact),
                "rect_share": float(np.linalg.norm(outside) / np.linalg.norm(exact)),
                "ks": ks, "error_vs_k": np.array([self.error(k, self.tail) for k in ks]),
                "tails": self.tails,
                "error_vs_tail": np.array([self.error(self.k, t) for t in self.tails])}

    def summary(self):
        r = self.result
        return (f"k={r['k']}, tail={r['tail']:.2f}: the truncated rule on the kept triplets is off by "
                f"{100 * r['rel_error']:.1f}% (exact: svd_vjp(A, k={r['k']})); the (I - U U^H) "
                f"term is {100 * r['rect_share']:.1f}% of the exact dA")

    def draw(self, fig):
        r = self.result
        ax1, ax2, ax3 = fig.subplots(1, 3)
        ax1.bar(r["ks"], 100 * r["error_vs_k"],
                color=["C3" if k == r["k"] else "C0" for k in r["ks"]])
        ax1.set_xlabel("k (kept singular triplets)")
        ax1.set_ylabel("error of the naive rule (%)")
        ax1.set_title(f"Naive truncated rule, tail={r['tail']:.2f}", fontsize=9)
        ax2.plot(r["tails"], 100 * r["error_vs_tail"])
        ax2.axvline(r["tail"], color="0.5", ls=":")
        ax2.set_xlabel("tail (scale of the discarded singular values)")
        ax2.set_ylabel("error of the naive rule (%)")
        ax2.set_title(f"k={r['k']}: exact only when the tail is 0", fontsize=9)
        D = r["exact"] - r["naive"]
        v = np.abs(D).max() or 1.0
        im = ax3.imshow(D, cmap="RdBu_r", vmin=-v, vmax=v)
        fig.colorbar(im, ax=ax3, shrink=0.8, label="dA_ij")
        ax3.set_xlabel("column j")
        ax3.set_ylabel("row i")
        ax3.set_title("exact - naive dA (the missing coupling)", fontsize=9)


def truncation_view(model=None):
    import ipywidgets as w

    from ._base import ModelView

    model = TruncationModel() if model is None else model
    k = w.IntSlider(value=model.k, min=1, max=len(model.spectrum), description="k",
                    continuous_update=False)
    tail = w.FloatSlider(value=model.tail, min=0.0, max=1.0, step=0.05, description="tail",
                         continuous_update=False)
    return ModelView(model, {"k": k, "tail": tail})
