/* eig's pullback for 3 x 3 real input, 8 matrices at a time (the lane
 * kernel of _eig.pxi's last section, which states the formulas and how a
 * block is handed over; docs/eig.md derives them).
 *
 * Written with GNU C vector types, every lane quantity a vector value that
 * the compiler keeps in a register while it can: as loops over lane arrays
 * (Cython, like the other 3x3 kernels) the same kernel keeps every array in
 * memory between its stages, 300 vector loads and 150 stores a block. Under AVX-512 the
 * loads and stores are _lanes.h's register transposes; elsewhere the vector
 * types lower to the target's registers.
 */
#ifndef LINALGAD_EIG3_H
#define LINALGAD_EIG3_H

#include <stddef.h>
#include "_lanes.h"

#if defined(__GNUC__)
#define EIG3_LANES 1

/* E3_W lanes a vector: the block's 8 in one AVX-512 register, else in
   8 / E3_W passes, since a 512-bit type on narrower registers spills */
#if LANES_SIMD
#define E3_W 8
#elif defined(__AVX__)
#define E3_W 4
#else
#define E3_W 2
#endif
typedef double ev __attribute__((vector_size(8 * E3_W)));
typedef long long evm __attribute__((vector_size(8 * E3_W)));   /* lane masks: -1 or 0 */

/* Every loop unrolled before scalar replacement runs (it follows complete
   unrolling), so that no lane array is left in memory. */
#define E3_UNROLL _Pragma("GCC unroll 32")

/* a where m, else b */
LANES_INLINE ev e3_sel(evm m, ev a, ev b)
{
    return (ev)(((evm)a & m) | ((evm)b & ~m));
}

/* a if a > b else b, lane by lane (b where either is nan) */
LANES_INLINE ev e3_max(ev a, ev b)
{
    return e3_sel(a > b, a, b);
}

/* is any lane nonzero? */
LANES_INLINE int e3_any(evm m)
{
#if LANES_SIMD
    return _mm512_test_epi64_mask((__m512i)m, (__m512i)m) != 0;
#else
    int l;
    E3_UNROLL
    for (l = 0; l < E3_W; l++)
        if (m[l])
            return 1;
    return 0;
#endif
}

/* dst[r] = lane vector of entry r of matrices l0 .. l0 + E3_W - 1 of `size`
   doubles (l0 = 0 with AVX-512) */
LANES_INLINE void e3_load(const double *src, int size, int l0, ev *dst)
{
#if LANES_SIMD
    __m512d t[8];
    int l, h;
    (void)l0;
    E3_UNROLL
    for (h = 0; h + 8 <= size; h += 8) {
        E3_UNROLL
        for (l = 0; l < 8; l++)
            t[l] = _mm512_loadu_pd(src + size * l + h);
        lanes_tr8x8(t);
        E3_UNROLL
        for (l = 0; l < 8; l++)
            dst[h + l] = (ev)t[l];
    }
    if (size == 6) {   /* masked: the last matrix is not read past its end */
        E3_UNROLL
        for (l = 0; l < 8; l++)
            t[l] = _mm512_maskz_loadu_pd(0x3F, src + 6 * l);
        lanes_tr8x8(t);
        E3_UNROLL
        for (l = 0; l < 6; l++)
            dst[l] = (ev)t[l];
        return;
    }
    E3_UNROLL
    for (; h < size; h++)
        dst[h] = (ev){src[h], src[size + h], src[2 * size + h], src[3 * size + h],
                      src[4 * size + h], src[5 * size + h], src[6 * size + h], src[7 * size + h]};
#else
    int l, r;
    E3_UNROLL
    for (r = 0; r < size; r++) {
        ev x = {0};                 /* whole, so that no lane is read unset */
        E3_UNROLL
        for (l = 0; l < E3_W; l++)
            x[l] = src[size * (l0 + l) + r];
        dst[r] = x;
    }
#endif
}

/* out[9 (l0 + l) + r] = lane l of R[r] */
LANES_INLINE void e3_store9(const ev *R, int l0, double *out)
{
#if LANES_SIMD
    __m512d t[8];
    int l;
    (void)l0;
    E3_UNROLL
    for (l = 0; l < 8; l++)
        t[l] = (__m512d)R[l];
    lanes_tr8x8(t);
    E3_UNROLL
    for (l = 0; l < 8; l++) {
        _mm512_storeu_pd(out + 9 * l, t[l]);
        out[9 * l + 8] = R[8][l];
    }
#else
    int l, r;
    E3_UNROLL
    for (l = 0; l < E3_W; l++)
        E3_UNROLL
        for (r = 0; r < 9; r++)
            out[9 * (l0 + l) + r] = R[r][l];
#endif
}

/* Complex lane matrices (V, dV, Z) keep re and im in alternate entries:
   entry (i, j) at 2 (3 i + j) and 2 (3 i + j) + 1. */

/* Re and Im of v_i^H g_j (columns i, j) */
LANES_INLINE ev e3_vhg_re(const ev *v, const ev *g, int i, int j)
{
    return (v[2 * i] * g[2 * j] + v[2 * i + 1] * g[2 * j + 1])
         + (v[2 * (3 + i)] * g[2 * (3 + j)] + v[2 * (3 + i) + 1] * g[2 * (3 + j) + 1])
         + (v[2 * (6 + i)] * g[2 * (6 + j)] + v[2 * (6 + i) + 1] * g[2 * (6 + j) + 1]);
}

LANES_INLINE ev e3_vhg_im(const ev *v, const ev *g, int i, int j)
{
    return (v[2 * i] * g[2 * j + 1] - v[2 * i + 1] * g[2 * j])
         + (v[2 * (3 + i)] * g[2 * (3 + j) + 1] - v[2 * (3 + i) + 1] * g[2 * (3 + j)])
         + (v[2 * (6 + i)] * g[2 * (6 + j) + 1] - v[2 * (6 + i) + 1] * g[2 * (6 + j)]);
}

/* LAPACK makes the entry of largest modulus (first on ties) of each vector
   real; the projection's term for it reaches A_bar only through a pair's
   columns (for a real column it cancels in K: docs/eig.md), and a pair's
   columns are conjugate, so one pivot row k serves the lane: column 1's,
   which every pair holds. k0, k1, k2: the lanes where k is 0, 1, 2; rk =
   1 / v_k1 (real) */
LANES_INLINE void e3_pivot(const ev *v, evm *k0, evm *k1, evm *k2, ev *rk)
{
    const ev n0 = v[2] * v[2] + v[3] * v[3];
    const ev n1 = v[8] * v[8] + v[9] * v[9];
    const ev n2 = v[14] * v[14] + v[15] * v[15];
    *k2 = n2 > e3_max(n1, n0);
    *k1 = (n1 > n0) & ~*k2;
    *k0 = ~(*k1 | *k2);
    *rk = 1.0 / e3_sel(*k2, v[14], e3_sel(*k1, v[8], v[2]));
}

/* column j of dV' = dV - Re(g_j) v_j [- i Im(g_j) rk e_k] in place, g_j =
   v_j^H dV_j ("lapack": rk = 1 / v_kj in a pair's column, 0 in a real one);
   "norm": *bad where Im(g_j)^2 > gtol2 */
LANES_INLINE void e3_project(const ev *v, ev *g, int j, int lapack, ev gtol2, evm *bad,
                           evm k0, evm k1, evm k2, ev rk)
{
    const int e0 = 2 * j, e1 = 2 * (3 + j), e2 = 2 * (6 + j);
    const ev gr = e3_vhg_re(v, g, j, j);
    ev gi = e3_vhg_im(v, g, j, j);
    if (lapack) {
        const ev zero = {0};
        gi = gi * rk;
        g[e0 + 1] = g[e0 + 1] - gr * v[e0 + 1] - e3_sel(k0, gi, zero);
        g[e1 + 1] = g[e1 + 1] - gr * v[e1 + 1] - e3_sel(k1, gi, zero);
        g[e2 + 1] = g[e2 + 1] - gr * v[e2 + 1] - e3_sel(k2, gi, zero);
    } else {
        *bad |= gi * gi > gtol2;
        g[e0 + 1] = g[e0 + 1] - gr * v[e0 + 1];
        g[e1 + 1] = g[e1 + 1] - gr * v[e1 + 1];
        g[e2 + 1] = g[e2 + 1] - gr * v[e2 + 1];
    }
    g[e0] = g[e0] - gr * v[e0];
    g[e1] = g[e1] - gr * v[e1];
    g[e2] = g[e2] - gr * v[e2];
}

/* |w_j - w_i|^2 in the range where sc / |d|^2 is finite and accurate; a
   lane outside it (a spectrum beyond about 1e150 or below 1e-144) goes to
   the per-matrix kernel, whose gaps are never squared */
#define E3_A2_MIN 0x1p-960
#define E3_A2_MAX 0x1p1000

/* Z_ij = (v_i^H dV'_j) sc / conj(w_j - w_i), Z_ji = (v_j^H dV'_i) sc /
   conj(w_i - w_j); *bad where |w_j - w_i|^2 <= tol2 (flag: the mode tests
   it) or outside [E3_A2_MIN, E3_A2_MAX] */
LANES_INLINE void e3_pair(int i, int j, const ev *v, const ev *g, const ev *w, ev tol2, int flag,
                       ev sc, ev *Z, evm *bad)
{
    const int ij = 2 * (3 * i + j), ji = 2 * (3 * j + i);
    const ev zr = e3_vhg_re(v, g, i, j), zi = e3_vhg_im(v, g, i, j);
    const ev yr = e3_vhg_re(v, g, j, i), yi = e3_vhg_im(v, g, j, i);
    ev dr = w[2 * j] - w[2 * i], di = w[2 * j + 1] - w[2 * i + 1];
    ev a2 = dr * dr + di * di;
    if (flag)
        *bad |= a2 <= tol2;
    *bad |= (a2 < E3_A2_MIN) | (a2 > E3_A2_MAX);
    a2 = sc / a2;                       /* sc / conj(d) = (sc / |d|^2) d */
    dr = dr * a2;
    di = di * a2;
    Z[ij] = zr * dr - zi * di;
    Z[ij + 1] = zr * di + zi * dr;
    Z[ji] = -(yr * dr - yi * di);
    Z[ji + 1] = -(yr * di + yi * dr);
}

/* entry (r, s) of K = Re(T^{-H} Z T^H) for a pair in columns (a, b) and a
   real column c: T = [[1, 1], [i, -i]] on the pair, T^{-H} = T / 2 there */
LANES_INLINE ev e3_kpair(const ev *Z, int a, int b, int r, int s)
{
    const int c = 3 - a - b;
    const int aa = 2 * (3 * a + a), ab = 2 * (3 * a + b), ac = 2 * (3 * a + c);
    const int ba = 2 * (3 * b + a), bb = 2 * (3 * b + b), bc = 2 * (3 * b + c);
    const int ca = 2 * (3 * c + a), cb = 2 * (3 * c + b), cc = 2 * (3 * c + c);
    if (r == a && s == a)
        return 0.5 * ((Z[aa] + Z[ab]) + (Z[ba] + Z[bb]));
    if (r == a && s == b)
        return 0.5 * ((Z[aa + 1] - Z[ab + 1]) + (Z[ba + 1] - Z[bb + 1]));
    if (r == b && s == a)
        return 0.5 * ((Z[ba + 1] + Z[bb + 1]) - (Z[aa + 1] + Z[ab + 1]));
    if (r == b && s == b)
        return 0.5 * ((Z[aa] - Z[ab]) + (Z[bb] - Z[ba]));
    if (r == a)
        return 0.5 * (Z[ac] + Z[bc]);
    if (r == b)
        return 0.5 * (Z[bc + 1] - Z[ac + 1]);
    if (s == a)
        return Z[ca] + Z[cb];
    if (s == b)
        return Z[ca + 1] - Z[cb + 1];
    return Z[cc];
}

/* The kernel, for matrices l0 .. l0 + E3_W - 1 of a block of 8. V, w, gw,
   gV: the block (complex, interleaved; gw all zeros when absent, gV NULL
   when absent: then vec is 0); nxt: the next block's first matrix, counted
   from this one's (8, or 0 on the last whole block), for the prefetches. Returns 0 with out written, 1 when
   a cotangent holds an inf or nan, 2 when the block is to be handed over. */
LANES_INLINE int e3_kernel(const double *V, const double *W, const double *GW, const double *GV,
                        double *out, int l0, ptrdiff_t nxt, double lim, double gtol2s,
                        double rtol2s, const int vec, const int lapack, const int flag,
                        int check_finite)
{
    ev v[18], w[6], gw[6], g[18], vr[9], C[9], Z[18], K[9], R[9];
    ev det, sc, lim2;
    evm p0, p1, bad;
    int i, r, s;

    e3_load(V, 18, l0, v);
    e3_load(W, 6, l0, w);
    e3_load(GW, 6, l0, gw);
    if (vec)
        e3_load(GV, 18, l0, g);
    lanes_prefetch(V + nxt * 18, 0, 9);
    lanes_prefetch(W + nxt * 6, 0, 6);
    lanes_prefetch(GW + nxt * 6, 0, 6);
    if (check_finite) {                 /* x - x: 0 where finite, nan at an inf or nan */
        ev acc = {0};
        E3_UNROLL
        for (i = 0; i < 6; i++)
            acc += gw[i] - gw[i];
        if (vec)
            E3_UNROLL
            for (i = 0; i < 18; i++)
                acc += g[i] - g[i];
        if (e3_any(acc != 0.0))         /* nan != 0 */
            return 1;
    }

    /* Vr (V = Vr T): column 0 Re v_0; column 1 Im v_0 where p0 (a pair in
       columns 0, 1), else Re v_1; column 2 Im v_1 where p1, else Re v_2 */
    p0 = w[1] > 0.0;
    p1 = w[3] > 0.0;
    E3_UNROLL
    for (i = 0; i < 3; i++) {
        vr[3 * i] = v[6 * i];
        vr[3 * i + 1] = e3_sel(p0, v[6 * i + 1], v[6 * i + 2]);
        vr[3 * i + 2] = e3_sel(p1, v[6 * i + 3], v[6 * i + 4]);
    }
    /* cofactors C (Vr^{-T} = C / det Vr), and the bound cond(Vr) <= 9 / |det|
       (see _eig.pxi) against lim; nan fails it too */
    E3_UNROLL
    for (r = 0; r < 3; r++)
        E3_UNROLL
        for (s = 0; s < 3; s++) {
            const int r1 = (r + 1) % 3, r2 = (r + 2) % 3, s1 = (s + 1) % 3, s2 = (s + 2) % 3;
            C[3 * r + s] = vr[3 * r1 + s1] * vr[3 * r2 + s2] - vr[3 * r1 + s2] * vr[3 * r2 + s1];
        }
    det = vr[0] * C[0] + vr[1] * C[1] + vr[2] * C[2];
    bad = ~(81.0 <= (lim * lim) * (det * det));
    sc = 1.0 / det;
    lanes_prefetch(V + nxt * 18, 9, 9);

    if (vec) {
        /* Z = V^H dV', scaled by sc / conj(w_j - w_i) off the diagonal */
        if (!lapack)
            lim2 = gtol2s * e3_max(e3_max(
                g[0] * g[0] + g[1] * g[1] + g[6] * g[6] + g[7] * g[7] + g[12] * g[12] + g[13] * g[13],
                g[2] * g[2] + g[3] * g[3] + g[8] * g[8] + g[9] * g[9] + g[14] * g[14] + g[15] * g[15]),
                g[4] * g[4] + g[5] * g[5] + g[10] * g[10] + g[11] * g[11] + g[16] * g[16] + g[17] * g[17]);
        else
            lim2 = (ev){0};
        {
            evm k0, k1, k2;
            ev rk;
            const ev zero = {0};
            /* make_gap's tol^2 with room for its rounding (no sqrt: a flag at
               the margin only hands the block over) */
            const ev tol2 = rtol2s * e3_max(e3_max(w[0] * w[0] + w[1] * w[1], w[2] * w[2] + w[3] * w[3]),
                                            w[4] * w[4] + w[5] * w[5]);
            e3_pivot(v, &k0, &k1, &k2, &rk);
            /* each pair as soon as both its columns are projected */
            e3_project(v, g, 0, lapack, lim2, &bad, k0, k1, k2, e3_sel(p0, rk, zero));
            e3_project(v, g, 1, lapack, lim2, &bad, k0, k1, k2, e3_sel(p0 | p1, rk, zero));
            e3_pair(0, 1, v, g, w, tol2, flag, sc, Z, &bad);
            lanes_prefetch(GV + nxt * 18, 0, 9);
            e3_project(v, g, 2, lapack, lim2, &bad, k0, k1, k2, e3_sel(p1, rk, zero));
            e3_pair(0, 2, v, g, w, tol2, flag, sc, Z, &bad);
            e3_pair(1, 2, v, g, w, tol2, flag, sc, Z, &bad);
        }
        lanes_prefetch(GV + nxt * 18, 9, 9);
    } else {
        /* eigenvalues only: no 1/gap, but a strict caller (rtol2s >= 0) hands
           over a lane with a pair within tol, where dw may single out a member */
        const ev tol2 = rtol2s * e3_max(e3_max(w[0] * w[0] + w[1] * w[1], w[2] * w[2] + w[3] * w[3]),
                                        w[4] * w[4] + w[5] * w[5]);
        E3_UNROLL
        for (i = 0; i < 3; i++) {
            const int a = i == 2 ? 1 : 0, b = i == 0 ? 1 : 2;
            const ev dr = w[2 * b] - w[2 * a], di = w[2 * b + 1] - w[2 * a + 1];
            bad |= dr * dr + di * di <= tol2;
        }
        E3_UNROLL
        for (i = 0; i < 18; i++)
            Z[i] = (ev){0};
    }
    if (e3_any(bad))
        return 2;
    E3_UNROLL
    for (i = 0; i < 3; i++) {           /* the diagonal: sc dw */
        Z[8 * i] = gw[2 * i] * sc;
        Z[8 * i + 1] = gw[2 * i + 1] * sc;
    }

    /* K = Re(T^{-H} Z T^H) by the lane's pattern, then A_bar = (C K) Vr^T */
    E3_UNROLL
    for (r = 0; r < 3; r++)
        E3_UNROLL
        for (s = 0; s < 3; s++)
            K[3 * r + s] = e3_sel(p0, e3_kpair(Z, 0, 1, r, s),
                                  e3_sel(p1, e3_kpair(Z, 1, 2, r, s), Z[2 * (3 * r + s)]));
    E3_UNROLL
    for (r = 0; r < 3; r++) {
        const ev q0 = C[3 * r] * K[0] + C[3 * r + 1] * K[3] + C[3 * r + 2] * K[6];
        const ev q1 = C[3 * r] * K[1] + C[3 * r + 1] * K[4] + C[3 * r + 2] * K[7];
        const ev q2 = C[3 * r] * K[2] + C[3 * r + 1] * K[5] + C[3 * r + 2] * K[8];
        R[3 * r] = q0 * vr[0] + q1 * vr[1] + q2 * vr[2];
        R[3 * r + 1] = q0 * vr[3] + q1 * vr[4] + q2 * vr[5];
        R[3 * r + 2] = q0 * vr[6] + q1 * vr[7] + q2 * vr[8];
    }
    e3_store9(R, l0, out);
    return 0;
}

/* one compiled kernel per (vec, lapack, flag): each a constant inside. The
   passes (one with AVX-512) all run unless a cotangent is not finite, so
   that an inf or nan is refused even in a block that is handed over. */
#if E3_W == 8
#define E3_VARIANT(name, vec, lapack, flag)                                                     \
    static int name(const double *V, const double *W, const double *GW, const double *GV,     \
                    double *out, ptrdiff_t nxt, double lim, double g2, double r2, int cf)     \
    {                                                                                         \
        return e3_kernel(V, W, GW, GV, out, 0, nxt, lim, g2, r2, vec, lapack, flag, cf);      \
    }
#else
#define E3_VARIANT(name, vec, lapack, flag)                                                     \
    static int name(const double *V, const double *W, const double *GW, const double *GV,     \
                    double *out, ptrdiff_t nxt, double lim, double g2, double r2, int cf)     \
    {                                                                                         \
        int l0, code, any = 0;                                                                \
        for (l0 = 0; l0 < 8; l0 += E3_W) {                                                    \
            code = e3_kernel(V, W, GW, GV, out, l0, nxt, lim, g2, r2, vec, lapack, flag, cf); \
            if (code == 1)                                                                    \
                return 1;                                                                     \
            any |= code;                                                                      \
        }                                                                                     \
        return any;                                                                           \
    }
#endif
E3_VARIANT(e3_vlf, 1, 1, 1)
E3_VARIANT(e3_vle, 1, 1, 0)
E3_VARIANT(e3_vnf, 1, 0, 1)
E3_VARIANT(e3_vne, 1, 0, 0)
E3_VARIANT(e3_w, 0, 1, 0)

/* eig3_lanes: the kernel for a block of 8 (see e3_kernel); gtol2 =
   gauge_tol^2, rtol2 = rtol^2 (1 + 1e-12) */
static int eig3_lanes(const double *V, const double *W, const double *GW, const double *GV,
                      double *out, ptrdiff_t nxt, double lim, double gtol2, double rtol2,
                      int lapack, int flag, int check_finite)
{
    if (GV == NULL)
        return e3_w(V, W, GW, GV, out, nxt, lim, gtol2, rtol2, check_finite);
    if (lapack)
        return (flag ? e3_vlf : e3_vle)(V, W, GW, GV, out, nxt, lim, gtol2, rtol2, check_finite);
    return (flag ? e3_vnf : e3_vne)(V, W, GW, GV, out, nxt, lim, gtol2, rtol2, check_finite);
}

#else
#define EIG3_LANES 0
static int eig3_lanes(const double *V, const double *W, const double *GW, const double *GV,
                      double *out, ptrdiff_t nxt, double lim, double gtol2, double rtol2,
                      int lapack, int flag, int check_finite)
{
    (void)V; (void)W; (void)GW; (void)GV; (void)out; (void)nxt; (void)lim; (void)gtol2;
    (void)rtol2; (void)lapack; (void)flag; (void)check_finite;
    return 2;   /* never called: eig3_fast is false without the vector types */
}
#endif

#endif
