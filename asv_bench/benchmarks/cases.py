"""One place that knows how to call each rule: seeded input, forward call,
pullback with its cotangents, JVP call. Used by the small-matrix and batch
classes and the targets."""

import numpy as np

from .common import (eig_input, gaussian, generator, herm_input, linalgad, need, opts,
                     row_cotangent, svd_input, value_cotangent, vector_cotangent)

RULES = ["svd", "polar", "eigh", "eig", "funm"]
_NEEDS = {"svd": ("svd_vjp", "svd_jvp"), "polar": ("polar_vjp", "polar_jvp"),
          "eigh": ("eigh_vjp", "eigh_jvp"), "eig": ("eig_vjp", "eig_jvp"),
          "funm": ("funm_vjp", "funm_jvp")}


def _herm(X):
    return (0.5 * (X + X.conj().swapaxes(-1, -2))).astype(X.dtype)


class Case:
    """``primal()``, ``vjp()`` (forward + pullback), ``pullback(*ct)``,
    ``jvp()``; ``res``: the primal outputs the pullback was made with;
    ``out_bytes``: size of the pullback's result."""

    def __init__(self, rule, dtype, n, batch=(), mode="generic"):
        need(*_NEEDS[rule])
        self.rule, self.dtype, self.n, self.batch = rule, np.dtype(dtype), n, tuple(batch)
        o = opts(mode)
        g = generator("case", rule, dtype, n, self.batch, mode)
        if rule in ("svd", "polar"):
            A = svd_input(n, dtype, mode, self.batch, key=rule)
        elif rule in ("eigh", "funm"):
            A = herm_input(n, dtype, mode, self.batch, key=rule)
        else:
            A = eig_input(n, dtype, mode, self.batch, key=rule)
        self.A = A
        dA = gaussian(g, A.shape, dtype)
        if rule == "svd":
            self._fwd = lambda: linalgad.svd(A)
            self._vjp = lambda: linalgad.svd_vjp(A, **o)
            self._jvp = lambda: linalgad.svd_jvp(A, dA, **o)
            res, self.pullback = self._vjp()
            self.res = res
            self.ct = (vector_cotangent(g, res.U, mode), value_cotangent(g, res.S),
                       row_cotangent(g, res.Vh, mode))
        elif rule == "polar":
            self._fwd = lambda: linalgad.polar(A)
            self._vjp = lambda: linalgad.polar_vjp(A)
            self._jvp = lambda: linalgad.polar_jvp(A, dA)
            res, self.pullback = self._vjp()
            self.res = res
            self.ct = (gaussian(g, res.Q.shape, dtype), gaussian(g, res.P.shape, dtype))
        elif rule in ("eigh", "eig"):
            vjp, jvp = getattr(linalgad, rule + "_vjp"), getattr(linalgad, rule + "_jvp")
            fwd = getattr(linalgad, rule, getattr(np.linalg, rule))
            dA = _herm(dA) if rule == "eigh" else dA
            self._fwd = lambda: fwd(A)
            self._vjp = lambda: vjp(A, **o)
            self._jvp = lambda: jvp(A, dA, **o)
            (w, V), self.pullback = self._vjp()
            self.res = (w, V)
            self.ct = (value_cotangent(g, np.asarray(w)),
                       vector_cotangent(g, np.asarray(V), mode if rule == "eigh" else "generic"))
        else:  # funm, f = exp
            dA = _herm(dA)
            self._fwd = lambda: linalgad.funm_vjp(A, "exp", UPLO=None)[0]
            self._vjp = lambda: linalgad.funm_vjp(A, "exp", UPLO=None)
            self._jvp = lambda: linalgad.funm_jvp(A, dA, "exp", UPLO=None)
            F, self.pullback = self._vjp()
            self.res = F
            self.ct = (gaussian(g, np.shape(F), dtype),)
        self.out_bytes = A.nbytes

    def primal(self):
        return self._fwd()

    def vjp(self):
        return self._vjp()

    def jvp(self):
        return self._jvp()

    def pull(self):
        return self.pullback(*self.ct)
