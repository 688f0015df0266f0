"""Scalar functions and their first divided differences, without cancellation.

One source of truth for ``funm`` (f on the eigenvalues of a Hermitian
matrix) and ``svfunm`` (g on singular values). For values ``x`` (..., n)
:func:`divided_differences` returns ``f(x)`` and the matrix

    D_ij = f[x_i, x_j] = (f(x_i) - f(x_j)) / (x_i - x_j),   D_ii = f'(x_i),

computed so that close (or equal) values lose no digits: the difference
quotient is never formed from two nearly equal function values. With
``a = max(x_i, x_j)``, ``b = min(x_i, x_j)``, ``d = a - b >= 0``:

=========  ==================================================================
exp        exp(a) * (-expm1(-d)) / d          (exp(a) at d = 0)
log        log1p(d / b) / d                   (1/b at d = 0), b > 0
sqrt       1 / (sqrt(a) + sqrt(b))            exact, a + b > 0
abs        sign(a) = sign(b): sign; else (a + b) / (a - b); no zero value
inv        -1 / (a b)                         exact, no zero value
x**p       b**(p-1) * expm1(p log1p(d/b)) / (d/b)   (p b**(p-1) at d = 0), b > 0;
           integer p and any real x: the exact sum of a**k b**(p-1-k)
callable   (f(a) - f(b)) / d when d > cbrt(eps) * scale, else df((a + b) / 2)
           (error O(d**2 f''') instead of O(eps f / d))
=========  ==================================================================

Domain errors (log or sqrt of a negative value, a function not
differentiable at 0 evaluated there) raise ValueError naming the value.
Everything is vectorised NumPy in float64.
"""

import numbers

import numpy as np

__all__ = ["resolve", "divided_differences", "NAMES"]

NAMES = ("exp", "log", "sqrt", "abs", "inv")


class ScalarFunction:
    """A function on real values with its derivative and divided differences."""

    def __init__(self, name, f, df, dd, domain=None):
        self.name = name
        self.f = f
        self.df = df
        self._dd = dd
        self._domain = domain

    def check(self, x, where=""):
        if self._domain is not None:
            self._domain(np.asarray(x, np.float64), where)

    def dd(self, xi, xj):
        """f[xi, xj] elementwise (broadcasting), f'(x) where xi == xj."""
        a = np.maximum(xi, xj)
        b = np.minimum(xi, xj)
        return self._dd(a, b)

    def __repr__(self):
        return f"<ScalarFunction {self.name}>"


def _first_bad(mask):
    idx = np.argwhere(mask)[0]
    return tuple(int(i) for i in idx)


def _domain_error(name, x, mask, what, where):
    # where: a message prefix such as "funm_vjp: ", or (prefix, "eigenvalue")
    prefix, kind = where if isinstance(where, tuple) else (where, "value")
    i = _first_bad(mask)
    raise ValueError(
        f"{prefix}{name} {what}, but {kind} {i[-1]}"
        + (f" of matrix {i[:-1]}" if len(i) > 1 else "")
        + f" is {x[i]:.6g}; shift or regularise the matrix (e.g. A + c*I), or use a function "
        f"defined there"
    )


def _safe_div(num, den):
    with np.errstate(divide="ignore", invalid="ignore"):
        return num / np.where(den == 0, 1.0, den)


# --- the table ----------------------------------------------------------------------

def _dd_exp(a, b):
    d = a - b
    with np.errstate(over="ignore"):
        ea = np.exp(a)
    phi = np.where(d == 0, 1.0, _safe_div(-np.expm1(-d), d))
    return ea * phi


def _dd_log(a, b):
    d = a - b
    x = _safe_div(d, b)
    small = x <= 0.5
    psi = np.where(x == 0, 1.0, _safe_div(np.log1p(x), x))
    return np.where(small, psi / b, _safe_div(np.log1p(x), d))


def _dd_sqrt(a, b):
    with np.errstate(divide="ignore"):
        return 1.0 / (np.sqrt(a) + np.sqrt(b))


def _dd_abs(a, b):
    same = np.sign(a) == np.sign(b)
    return np.where(same, np.sign(a), _safe_div(a + b, a - b))


def _dd_inv(a, b):
    with np.errstate(divide="ignore"):
        return -1.0 / (a * b)


def _positive(name, strict):
    def check(x, where):
        bad = x <= 0 if strict else x < 0
        if np.any(bad):
            _domain_error(name, x, bad, "needs " + ("positive" if strict else "non-negative")
                          + " values" + (" (its derivative is infinite at 0)" if not strict else ""),
                          where)
        if not strict and np.any(x == 0):
            _domain_error(name, x, x == 0, "is not differentiable at 0 (infinite derivative)", where)
    return check


def _nonzero(name):
    def check(x, where):
        if np.any(x == 0):
            _domain_error(name, x, x == 0, "is not differentiable at 0", where)
    return check


_TABLE = {
    "exp": ScalarFunction("exp", np.exp, np.exp, _dd_exp),
    "log": ScalarFunction("log", np.log, lambda x: 1.0 / x, _dd_log, _positive("log", True)),
    "sqrt": ScalarFunction("sqrt", np.sqrt, lambda x: 0.5 / np.sqrt(x), _dd_sqrt,
                           _positive("sqrt", False)),
    "abs": ScalarFunction("abs", np.abs, np.sign, _dd_abs, _nonzero("abs")),
    "inv": ScalarFunction("inv", lambda x: 1.0 / x, lambda x: -1.0 / (x * x), _dd_inv, _nonzero("inv")),
}


def _power(p):
    p = float(p)
    integer = p == int(p) and abs(p) < 2**31
    q = int(p) if integer else None

    def f(x):
        return np.power(x, p)

    def df(x):
        return p * np.power(x, p - 1) if p != 0 else np.zeros_like(x)

    def dd_real(a, b):
        d = a - b
        x = _safe_div(d, b)
        big = (b <= 0) | (x > 0.5)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            near = np.power(b, p - 1) * np.where(x == 0, p, _safe_div(np.expm1(p * np.log1p(x)), x))
            far = _safe_div(np.power(a, p) - np.power(b, p), d)
        return np.where(big, far, near)

    def dd_int(a, b):
        # exact for any real a, b: f[a, b] = sum_k a^k b^(|q|-1-k), over (a b)^|q| for q < 0
        r = abs(q)
        s = np.zeros(np.broadcast(a, b).shape)
        for k in range(r):
            s = s + np.power(a, k) * np.power(b, r - 1 - k)
        if q >= 0:
            return s
        with np.errstate(divide="ignore"):
            return -s / np.power(a * b, r)

    def dd(a, b):
        if integer and (0 <= q <= 8 or np.any(b <= 0)):
            return dd_int(a, b)
        return dd_real(a, b)

    def check(x, where):
        if integer:
            if q < 0 and np.any(x == 0):
                _domain_error(f"x**{p:g}", x, x == 0, "is not defined at 0", where)
            return
        if np.any(x < 0):
            _domain_error(f"x**{p:g}", x, x < 0, "needs non-negative values (non-integer power)", where)
        if p < 1 and np.any(x == 0):
            _domain_error(f"x**{p:g}", x, x == 0, "is not differentiable at 0", where)

    return ScalarFunction(f"x**{p:g}", f, df, dd, check)


def _callable(f, df, names=("f", "df")):
    fname, dname = names
    if df is None:
        raise TypeError(
            f"a callable {fname} needs its derivative: pass {dname}= (a function of the same "
            f"values); or use one of the names {NAMES} or a number (a real power)"
        )
    if not callable(df):
        raise TypeError(f"{dname} must be callable, got {type(df).__name__}")
    thresh = float(np.finfo(np.float64).eps) ** (1 / 3)

    def real(y, name):
        # F = V f(w) V^H is Hermitian only for a real f: a complex one is refused
        # (not silently cut to Re f, which numpy's cast would do)
        y = np.asarray(y)
        if np.iscomplexobj(y):
            if np.any(y.imag != 0):
                raise TypeError(
                    f"{name} returned complex values: only real-valued functions are supported "
                    f"(f(A) of a Hermitian A is then Hermitian); for a complex f, call the rule "
                    f"on its real and imaginary parts separately and combine the results"
                )
            y = y.real
        return np.asarray(y, dtype=np.float64)

    def fv(x):
        return real(f(x), fname)

    def dfv(x):
        return real(df(x), dname)

    def dd(a, b):
        d = a - b
        scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1.0)
        close = d <= thresh * scale
        quot = _safe_div(fv(a) - fv(b), d)
        mid = dfv(0.5 * (a + b))
        return np.where(close, mid, quot)

    return ScalarFunction(getattr(f, "__name__", "f"), fv, dfv, dd)


def resolve(f, df=None, names=("f", "df")):
    """The ScalarFunction for a name, a real power (a number) or a callable;
    ``names``: what the caller calls the function and its derivative."""
    if isinstance(f, ScalarFunction):
        return f
    if isinstance(f, str):
        if f not in _TABLE:
            raise ValueError(f"unknown function {f!r}; known: {NAMES}, a number (power) or a callable")
        if df is not None:
            raise TypeError(f"{names[1]} is only for a callable {names[0]}, not for {f!r}")
        return _TABLE[f]
    if isinstance(f, numbers.Real) and not isinstance(f, bool):
        if not np.isfinite(f):
            raise ValueError(f"the power must be finite, got {f!r}")
        return _power(f)
    if callable(f):
        return _callable(f, df, names)
    raise TypeError(f"{names[0]} must be one of {NAMES}, a real number (power) or a callable, got {f!r}")


def divided_differences(fn, x, where=""):
    """``(f(x), D)`` for values x (..., n): D (..., n, n) float64 with
    D_ij = f[x_i, x_j] and D_ii = f'(x_i). Raises ValueError outside the domain;
    ``where`` is a message prefix, or ``(prefix, "eigenvalue")`` to name the values."""
    prefix = where[0] if isinstance(where, tuple) else where
    x = np.asarray(x, dtype=np.float64)
    fn.check(x, where)
    fx = np.asarray(fn.f(x), dtype=np.float64)
    if fx.shape != x.shape or not np.isfinite(fx).all():
        if fx.shape != x.shape:
            raise ValueError(f"{prefix}f returned shape {fx.shape} for values of shape {x.shape}")
        bad = ~np.isfinite(fx)
        _domain_error(fn.name, x, bad, "is not finite there", where)
    xi, xj = x[..., :, None], x[..., None, :]
    D = np.asarray(fn.dd(xi, xj), dtype=np.float64)
    D = np.broadcast_to(D, x.shape + x.shape[-1:]).copy()
    n = x.shape[-1]
    if n:
        # the diagonal from f' itself (exactly f'(x_i), not a limit)
        idx = np.arange(n)
        D[..., idx, idx] = np.asarray(fn.df(x), dtype=np.float64)
    if not np.isfinite(D).all():
        bad = ~np.isfinite(np.diagonal(D, axis1=-2, axis2=-1))
        if bad.any():
            _domain_error(fn.name, x, bad, "has an infinite derivative there", where)
        raise ValueError(f"{prefix}{fn.name}: divided differences overflow (values too large)")
    return fx, D
