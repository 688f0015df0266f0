/* Struct-of-arrays transposes for the tiny-matrix batch kernels (_lanes.pxi).
 *
 * A block of 8 consecutive matrices of `size` doubles each (8 x 9 for 3 x 3,
 * 8 x 3 for their spectra) is turned into `size` rows of 8 lanes, and back
 * (_eig3.h builds its complex ones from lanes_tr8x8).
 * Written as scalar loops these transposes cost more than all the arithmetic
 * of a 3 x 3 pullback: 8 scalar stores feeding one vector load defeat
 * store-to-load forwarding. With AVX-512 they are done in registers (an 8 x 8
 * transpose of unaligned row loads, plus the ninth column); elsewhere
 * LANES_SIMD is 0 and _lanes.pxi keeps its portable loops.
 */
#ifndef LINALGAD_LANES_H
#define LINALGAD_LANES_H

/* inlined whatever the size of the kernel calling them (gcc's growth limit
   for large functions had left the 3x3 eig kernel calling them); _eig3.h's
   helpers too */
#if defined(__GNUC__)
#define LANES_INLINE static inline __attribute__((always_inline))
#else
#define LANES_INLINE static inline
#endif

#if defined(__AVX512F__)
#include <immintrin.h>
#define LANES_SIMD 1

/* r[i] = column i of the 8 x 8 matrix whose rows are r[0..7] */
LANES_INLINE void lanes_tr8x8(__m512d r[8])
{
    const __m512i lo = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
    const __m512i hi = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
    __m512d t[8], s[8];
    int i;
    for (i = 0; i < 4; i++) {
        t[2 * i] = _mm512_unpacklo_pd(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_pd(r[2 * i], r[2 * i + 1]);
    }
    for (i = 0; i < 8; i += 4) {
        s[i] = _mm512_permutex2var_pd(t[i], lo, t[i + 2]);
        s[i + 1] = _mm512_permutex2var_pd(t[i + 1], lo, t[i + 3]);
        s[i + 2] = _mm512_permutex2var_pd(t[i], hi, t[i + 2]);
        s[i + 3] = _mm512_permutex2var_pd(t[i + 1], hi, t[i + 3]);
    }
    for (i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f64x2(s[i], s[i + 4], 0x44);
        r[i + 4] = _mm512_shuffle_f64x2(s[i], s[i + 4], 0xEE);
    }
}

/* dst[r][l] = src[9 l + r], r < 9, l < 8 */
LANES_INLINE void lanes_load9(const double *src, double dst[][8])
{
    __m512d v[8];
    int l;
    for (l = 0; l < 8; l++)
        v[l] = _mm512_loadu_pd(src + 9 * l);
    lanes_tr8x8(v);
    for (l = 0; l < 8; l++)
        _mm512_storeu_pd(dst[l], v[l]);
    _mm512_storeu_pd(dst[8], _mm512_set_pd(src[71], src[62], src[53], src[44],
                                            src[35], src[26], src[17], src[8]));
}

/* dst[r][l] = src[3 l + r], r < 3, l < 8 */
LANES_INLINE void lanes_load3(const double *src, double dst[][8])
{
    const __m512d a = _mm512_loadu_pd(src), b = _mm512_loadu_pd(src + 8),
                  c = _mm512_loadu_pd(src + 16);
    const __m512i sixteen = _mm512_set1_epi64(16), fifteen = _mm512_set1_epi64(15);
    int r;
    for (r = 0; r < 3; r++) {
        __m512i idx = _mm512_set_epi64(21 + r, 18 + r, 15 + r, 12 + r, 9 + r, 6 + r, 3 + r, r);
        __m512d ab = _mm512_permutex2var_pd(a, _mm512_and_si512(idx, fifteen), b);
        _mm512_storeu_pd(dst[r], _mm512_mask_permutexvar_pd(
            ab, _mm512_cmpge_epi64_mask(idx, sixteen), _mm512_sub_epi64(idx, sixteen), c));
    }
}

/* dst[9 l + r] = src[r][l], the inverse of lanes_load9 */
LANES_INLINE void lanes_store9(double src[][8], double *dst)
{
    __m512d v[8];
    int l;
    for (l = 0; l < 8; l++)
        v[l] = _mm512_loadu_pd(src[l]);
    lanes_tr8x8(v);
    for (l = 0; l < 8; l++) {
        _mm512_storeu_pd(dst + 9 * l, v[l]);
        dst[9 * l + 8] = src[8][l];
    }
}

/* is any of the 8 lanes nonzero or nan? (one compare into a mask: a sum
   tree or lane-by-lane tests use the shuffle unit the transposes need) */
LANES_INLINE int lanes_any(const double acc[8])
{
    return _mm512_cmp_pd_mask(_mm512_loadu_pd(acc), _mm512_setzero_pd(), _CMP_NEQ_UQ) != 0;
}

#else
#define LANES_SIMD 0
/* never called when LANES_SIMD is 0 (the Cython loops run instead) */
static inline void lanes_load9(const double *src, double dst[][8]) { (void)src; (void)dst; }
static inline void lanes_load3(const double *src, double dst[][8]) { (void)src; (void)dst; }
static inline void lanes_store9(double src[][8], double *dst) { (void)src; (void)dst; }
static inline int lanes_any(const double acc[8])
{
    int l, any = 0;
    for (l = 0; l < 8; l++)
        any |= !(acc[l] == 0.0);
    return any;
}
#endif

/* prefetch lines first .. first + n - 1 (64 bytes each) from p on: a
   block's complex 3 x 3 matrices (18 lines) come in one burst, beyond the
   hardware prefetcher's reach, so the next block's lines are asked for
   while this one computes. A hint only: no fault,
   no effect on results. */
#if defined(__GNUC__)
LANES_INLINE void lanes_prefetch(const double *p, int first, int n)
{
    int i;
    for (i = first; i < first + n; i++)
        __builtin_prefetch(p + 8 * i, 0, 3);
}
#else
static inline void lanes_prefetch(const double *p, int first, int n) { (void)p; (void)first; (void)n; }
#endif

#endif
