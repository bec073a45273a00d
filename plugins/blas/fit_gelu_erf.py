#!/usr/bin/env python3
"""Fits the coefficients of blas_gelu.hpp (run once by hand; nothing runs it at build or test time).

  P(s), s = z^2, z in [0, 0.9]:        erf(z) / z                     degree 5
  R(v), v = 1/t - 0.3, t in [0.9, 6.5]: erfc(t) * exp(t^2) * t  (= erfcx(t) t)   degree 9
Both by Lawson's iteratively reweighted least squares towards the minimax RELATIVE error on a
dense grid (scipy.special erf/erfcx in double as the target). The shift 0.3 of R's variable keeps
its coefficients below 0.55, so Horner in float loses little to cancellation (1.1e-7 vs 8e-7
unshifted). Prints C++ float literals, highest degree first (Horner order).
Usage: /usr/bin/python3 plugins/blas/fit_gelu_erf.py
"""
import numpy as np
from scipy.special import erf, erfcx


def lawson(xs, f, deg, iters=300):
    weights = np.ones_like(xs)
    vander = np.vander(xs, deg + 1, increasing=True)
    scale = np.abs(f)
    for _ in range(iters):
        a = vander * (np.sqrt(weights) / scale)[:, None]
        b = f * np.sqrt(weights) / scale
        c, *_ = np.linalg.lstsq(a, b, rcond=None)
        err = np.abs(vander @ c - f) / scale
        weights = weights * err
        weights /= weights.sum()
    return c, err.max()


def literals(c):
    return ", ".join("%.9ef" % v for v in c[::-1])


SMALL_LIMIT, T_MAX, SHIFT = 0.9, 6.5, 0.3
s = np.linspace(0.0, SMALL_LIMIT**2, 40001)
z = np.sqrt(s)
f_small = np.where(z > 0, erf(z) / np.where(z > 0, z, 1.0), 2.0 / np.sqrt(np.pi))
cp, ep = lawson(s, f_small, 5)
w = np.linspace(1.0 / T_MAX, 1.0 / SMALL_LIMIT, 40001)
cr, er = lawson(w - SHIFT, erfcx(1.0 / w) / w, 9)
print("P (relative error %.3g): %s" % (ep, literals(cp)))
print("R (relative error %.3g): %s" % (er, literals(cr)))
