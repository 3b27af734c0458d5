"""C++ fused gated units for CPU tensors, compiled at first use (``torch.utils.cpp_extension.load_inline``).

Why a compiled kernel: in torch ops a recompute-based backward needs more memory passes than eager
autograd (issue 7 measured the cache-blocked torch path at 0.34-0.88x eager).  One C++ loop per pass
reads each input once and writes each output once -- 3 element-streams forward (a, b -> c) and 5
backward (a, b, dc -> da, db), against ~14 for eager ``gate(a) * b``.

How it is built:

* the loops use ATen's ``at::vec::Vectorized`` (AVX2 / AVX-512 when this CPU and torch's build have
  them, the portable scalar fallback otherwise): its ``exp``/``erf``/``tanh`` are the same vector
  math library (SLEEF, exported by ``libtorch_cpu``) that torch's own CPU kernels call;
* threads come from ``at::parallel_for`` (torch's OpenMP pool, so ``torch.set_num_threads`` applies;
  ``-fopenmp`` links the ``libgomp.so.1`` torch already loaded, not a second runtime);
* the build lives in ``$ACTLAB_CACHE/cpp/<name>`` (default ``~/.cache/actlab``); the name carries a
  hash of the source, the flags, the torch version and the CPU capability, so a changed source or
  another machine never loads a stale library, and an unchanged one is reused by every process
  (ninja finds nothing to do).  Concurrent first builds are serialised by torch's own lock file
  (``FileBaton`` on ``<build dir>/lock``): one process compiles, the others wait and load the result.

If anything fails (no compiler, no ninja, a compile error) :func:`load` logs one line on the
``actlab.kernels`` logger and returns None, and :mod:`actlab.kernels.gated` keeps its torch path;
``ACTLAB_NO_CPP=1`` forces that fallback without trying.

Conventions (the zoo's): NaN in -> NaN out, and +-inf gives the gate's limits phi(+-inf) and
phi'(+-inf) -- computed in Python by the zoo (:meth:`actlab.zoo.activation.Activation.limits_of`) and passed in,
so the C++ code holds no per-activation table of special values.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sysconfig
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import torch

from ..zoo.activation import Activation
from ._conventions import limits4
from . import _erfc

__all__ = ["load", "available", "gate_args", "forward", "backward", "build_seconds", "DTYPES"]

log = logging.getLogger("actlab.kernels")

#: dtypes the compiled kernels take (half formats keep the torch path: see docs/kernels.md)
DTYPES = (torch.float32, torch.float64)

_GATE_IDS = {"identity": 0, "relu": 1, "sigmoid": 2, "silu": 3, "gelu": 4}  # gelu tanh: 5

_SOURCE = r"""
#include <ATen/Parallel.h>
#include <ATen/cpu/vec/vec.h>
#include <cmath>
#include <limits>
#include <type_traits>

namespace {

using at::vec::Vectorized;

// Elements per parallel task: big enough that thread start-up is noise, small enough that two
// cores share a 4 Mi-element tensor evenly.
constexpr int64_t GRAIN = 1 << 15;

enum Gate : int64_t { IDENTITY = 0, RELU = 1, SIGMOID = 2, SILU = 3, GELU = 4, GELU_TANH = 5 };

template <typename T>
struct Params {
  T beta;                          // silu's beta
  T g_lo, g_hi, d_lo, d_hi;        // phi(-inf), phi(+inf), phi'(-inf), phi'(+inf)
  bool limits;                     // apply them (the spec declares limits)
};

// Exact GELU in float32: x Phi(x) and Phi(x) + x phi(x) at a few ulp, without SLEEF's double-float
// erfc (accurate, but it made the fused pass 2x slower than eager) and without torch's erf polynomial
// (cheap, but 1 + erf cancels: ~1e-4 relative error at x = -3, worse further left).  The tail is
// Phi(-|x|) = t exp(-x^2/2) Q(t), t = 1 / (1 + |x| T_SCALE / sqrt 2): form, fit and error bound in
// actlab/kernels/_erfc.py, which also writes Q's Horner lines below.  x^2 = hi + lo exactly (FMA),
// so the large exponent -hi/2 enters exp() exact and the tail keeps its relative accuracy down to
// float32's underflow; the same exp(-x^2/2) gives phi(x) for the derivative.
template <bool D>
inline void gelu_f32(const Vectorized<float>& x, Vectorized<float>& g, Vectorized<float>& d) {
  using V = Vectorized<float>;
  const V one(1.f), zero(0.f);
  // beyond |x| = 20, exp(-x^2/2) is 0 in float32; clamping keeps hi, lo finite for huge finite x
  const V ax = at::vec::minimum(x.abs(), V(20.f));
  const V hi = ax * ax;
  const V lo = at::vec::fmsub(ax, ax, hi);  // ax^2 - hi, exact
  const V e = (hi * V(-0.5f)).exp() * at::vec::fmadd(lo, V(-0.5f), one);  // exp(-x^2/2); |lo| < 2^-24 hi
  const V t = one / at::vec::fmadd(ax, V(@T_COEF@), one);
  @HORNER@
  const V tail = t * e * q;  // Phi(-|x|)
  const V cdf = V::blendv(tail, one - tail, x > zero);
  g = x * cdf;
  if constexpr (D) d = at::vec::fmadd(x * V(float(0.5 * M_2_SQRTPI * M_SQRT1_2)), e, cdf);
}

// phi(x), and phi'(x) when D is true, for one vector.  Formulas only; conventions are applied after.
template <int64_t G, bool D, typename T>
inline void gate(const Vectorized<T>& x, const Params<T>& p, Vectorized<T>& g, Vectorized<T>& d) {
  using V = Vectorized<T>;
  const V one(T(1)), half(T(0.5)), zero(T(0));
  if constexpr (G == IDENTITY) {
    g = x;
    if constexpr (D) d = one;
  } else if constexpr (G == RELU) {
    g = at::vec::maximum(x, zero);  // NaN-propagating
    if constexpr (D) d = V::blendv(zero, one, x > zero);
  } else if constexpr (G == SIGMOID) {
    const V s = one / (one + x.neg().exp());
    g = s;
    if constexpr (D) d = s * (one - s);
  } else if constexpr (G == SILU) {
    const V bx = x * V(p.beta);
    const V s = one / (one + bx.neg().exp());
    g = x * s;
    if constexpr (D) d = s * (one + bx * (one - s));
  } else if constexpr (G == GELU && std::is_same_v<T, float>) {
    gelu_f32<D>(x, g, d);
  } else if constexpr (G == GELU) {
    // erfc, not 1 + erf: no cancellation in the left tail (the zoo's derivative uses the same form)
    const V cdf = half * (x * V(T(-M_SQRT1_2))).erfc();
    g = x * cdf;
    if constexpr (D) d = cdf + x * V(T(0.5 * M_2_SQRTPI * M_SQRT1_2)) * (half.neg() * x * x).exp();
  } else {  // GELU_TANH
    // 0.5 (1 + tanh(u)) = sigmoid(2u) and 1 - tanh(u)^2 = 4 s (1 - s): no 1 + t cancellation in the
    // left tail, where the tanh form loses most of its float32 digits.
    const V k(T(M_SQRT2 * M_2_SQRTPI * 0.5)), c(T(0.044715)), two(T(2));
    const V s = one / (one + (two * k * (x + c * x * x * x)).neg().exp());
    g = x * s;
    if constexpr (D) {
      // s (1 - s) is exactly 0 beyond |x| = 100 in both precisions; clamping x there keeps x^2
      // finite, so no 0 * inf appears for huge finite x.
      const V xs = at::vec::clamp(x, V(T(-100)), V(T(100)));
      d = s + two * xs * s * (one - s) * k * (one + V(T(3)) * c * xs * xs);
    }
  }
}

template <int64_t G, bool D, typename T>
inline void gate_conv(const Vectorized<T>& x, const Params<T>& p, Vectorized<T>& g, Vectorized<T>& d) {
  using V = Vectorized<T>;
  gate<G, D>(x, p, g, d);
  if (p.limits) {
    const V inf(std::numeric_limits<T>::infinity());
    const V pos = x == inf, neg = x == inf.neg();
    g = V::blendv(V::blendv(g, V(p.g_lo), neg), V(p.g_hi), pos);
    if constexpr (D) d = V::blendv(V::blendv(d, V(p.d_lo), neg), V(p.d_hi), pos);
  }
  const V nan = x.isnan();
  g = V::blendv(g, x, nan);
  if constexpr (D) d = V::blendv(d, x, nan);
}

// Walk a (rows, cols) problem whose rows are contiguous: one row -> split the columns, else the rows.
template <typename F>
inline void walk(int64_t rows, int64_t cols, const F& f) {
  if (rows == 1) {
    at::parallel_for(0, cols, GRAIN, [&](int64_t lo, int64_t hi) { f(0, lo, hi); });
  } else {
    const int64_t grain = std::max<int64_t>(1, GRAIN / std::max<int64_t>(cols, 1));
    at::parallel_for(0, rows, grain, [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) f(r, 0, cols);
    });
  }
}

template <int64_t G, typename T>
void fwd(const T* a, const T* b, T* c, int64_t rows, int64_t cols, int64_t sa, int64_t sb, int64_t sc,
         const Params<T>& p) {
  using V = Vectorized<T>;
  walk(rows, cols, [&](int64_t r, int64_t lo, int64_t hi) {
    const T* ar = a + r * sa; const T* br = b + r * sb; T* cr = c + r * sc;
    V g, d;
    int64_t i = lo;
    for (; i + V::size() <= hi; i += V::size()) {
      gate_conv<G, false>(V::loadu(ar + i), p, g, d);
      (g * V::loadu(br + i)).store(cr + i);
    }
    if (i < hi) {
      const int64_t n = hi - i;
      gate_conv<G, false>(V::loadu(ar + i, n), p, g, d);
      (g * V::loadu(br + i, n)).store(cr + i, n);
    }
  });
}

// da = dc * b * phi'(a), db = dc * phi(a); da may alias dc (each vector is read before it is written).
template <int64_t G, typename T>
void bwd(const T* a, const T* b, const T* dc, T* da, T* db, int64_t rows, int64_t cols,
         int64_t sa, int64_t sb, int64_t sdc, int64_t sda, int64_t sdb, const Params<T>& p) {
  using V = Vectorized<T>;
  walk(rows, cols, [&](int64_t r, int64_t lo, int64_t hi) {
    const T* ar = a + r * sa; const T* br = b + r * sb; const T* gr = dc + r * sdc;
    T* dar = da + r * sda; T* dbr = db + r * sdb;
    V g, d;
    int64_t i = lo;
    for (; i + V::size() <= hi; i += V::size()) {
      gate_conv<G, true>(V::loadu(ar + i), p, g, d);
      const V gv = V::loadu(gr + i);
      (gv * V::loadu(br + i) * d).store(dar + i);
      (gv * g).store(dbr + i);
    }
    if (i < hi) {
      const int64_t n = hi - i;
      gate_conv<G, true>(V::loadu(ar + i, n), p, g, d);
      const V gv = V::loadu(gr + i, n);
      (gv * V::loadu(br + i, n) * d).store(dar + i, n);
      (gv * g).store(dbr + i, n);
    }
  });
}

void check(const at::Tensor& t, const at::Tensor& like, const char* what) {
  TORCH_CHECK(t.device().is_cpu(), what, " must be a CPU tensor");
  TORCH_CHECK(t.dim() == 2 && t.stride(1) == 1, what, " must be 2-D with contiguous rows");
  TORCH_CHECK(t.sizes() == like.sizes() && t.scalar_type() == like.scalar_type(), what, " must match a");
}

template <typename T>
Params<T> params(double beta, const std::vector<double>& lim, bool limits) {
  TORCH_CHECK(lim.size() == 4, "limits must be [phi(-inf), phi(inf), phi'(-inf), phi'(inf)]");
  return Params<T>{T(beta), T(lim[0]), T(lim[1]), T(lim[2]), T(lim[3]), limits};
}

template <typename F>
void by_gate(int64_t gate_id, const F& f) {
  switch (gate_id) {
    case IDENTITY: f(std::integral_constant<int64_t, IDENTITY>{}); break;
    case RELU: f(std::integral_constant<int64_t, RELU>{}); break;
    case SIGMOID: f(std::integral_constant<int64_t, SIGMOID>{}); break;
    case SILU: f(std::integral_constant<int64_t, SILU>{}); break;
    case GELU: f(std::integral_constant<int64_t, GELU>{}); break;
    case GELU_TANH: f(std::integral_constant<int64_t, GELU_TANH>{}); break;
    default: TORCH_CHECK(false, "unknown gate id ", gate_id);
  }
}

}  // namespace

void gated_forward(const at::Tensor& a, const at::Tensor& b, at::Tensor c, int64_t gate_id, double beta,
                   const std::vector<double>& lim, bool limits) {
  check(b, a, "b"); check(c, a, "c"); check(a, a, "a");
  pybind11::gil_scoped_release nogil;
  AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "actlab_gated_forward", [&] {
    const auto p = params<scalar_t>(beta, lim, limits);
    by_gate(gate_id, [&](auto g) {
      fwd<decltype(g)::value, scalar_t>(a.data_ptr<scalar_t>(), b.data_ptr<scalar_t>(), c.data_ptr<scalar_t>(),
                                        a.size(0), a.size(1), a.stride(0), b.stride(0), c.stride(0), p);
    });
  });
}

void gated_backward(const at::Tensor& a, const at::Tensor& b, const at::Tensor& dc, at::Tensor da, at::Tensor db,
                    int64_t gate_id, double beta, const std::vector<double>& lim, bool limits) {
  check(a, a, "a"); check(b, a, "b"); check(dc, a, "dc"); check(da, a, "da"); check(db, a, "db");
  pybind11::gil_scoped_release nogil;
  AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "actlab_gated_backward", [&] {
    const auto p = params<scalar_t>(beta, lim, limits);
    by_gate(gate_id, [&](auto g) {
      bwd<decltype(g)::value, scalar_t>(a.data_ptr<scalar_t>(), b.data_ptr<scalar_t>(), dc.data_ptr<scalar_t>(),
                                        da.data_ptr<scalar_t>(), db.data_ptr<scalar_t>(), a.size(0), a.size(1),
                                        a.stride(0), b.stride(0), dc.stride(0), da.stride(0), db.stride(0), p);
    });
  });
}
"""
_SOURCE = _SOURCE.replace("@HORNER@", _erfc.cpp_horner("t", "q")).replace("@T_COEF@", _erfc.cpp_float(_erfc.X_SCALE))


def _arch_flags() -> tuple[str, list[str]]:
    """Vector ISA flags matching torch's own choice for this CPU (``DEFAULT``: portable scalar code)."""
    import platform

    cap = torch.backends.cpu.get_cpu_capability() if platform.machine() in ("x86_64", "AMD64") else "DEFAULT"
    if cap == "AVX512":
        return cap, ["-DCPU_CAPABILITY=AVX512", "-DCPU_CAPABILITY_AVX512", "-mavx512f", "-mavx512bw",
                     "-mavx512vl", "-mavx512dq", "-mfma"]
    if cap == "AVX2":
        return cap, ["-DCPU_CAPABILITY=AVX2", "-DCPU_CAPABILITY_AVX2", "-mavx2", "-mfma"]
    return "DEFAULT", ["-DCPU_CAPABILITY=DEFAULT"]


def cache_dir() -> Path:
    return Path(os.environ.get("ACTLAB_CACHE", Path.home() / ".cache" / "actlab")) / "cpp"


_lock = threading.Lock()
_state: dict[str, Any] = {"tried": False, "module": None, "seconds": None, "reason": None}


def _build() -> Any:
    cap, arch = _arch_flags()
    cflags = ["-O3", "-fopenmp", *arch]
    key = "\n".join([_SOURCE, *cflags, torch.__version__, cap])
    name = f"actlab_gated_{cap.lower()}_{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    build = cache_dir() / name
    build.mkdir(parents=True, exist_ok=True)
    from torch.utils.cpp_extension import load_inline

    # torch runs `ninja` from PATH; a pip-installed ninja lives beside this interpreter, which is not on
    # PATH when a virtual environment is used without being activated (`.venv/bin/python -m pytest`)
    scripts = sysconfig.get_path("scripts")
    if scripts and scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join(filter(None, [os.environ.get("PATH"), scripts]))

    if not any(build.glob(f"{name}*.so")):  # a first build: say why the call stalls (~1 min of C++)
        import sys

        sys.stderr.write(f"actlab: compiling the C++ gated kernels once for this machine (about a minute; cached "
                         f"in {build})\n")
        sys.stderr.flush()
    with warnings.catch_warnings(record=True) as caught:  # torch's build notes go to the log, not to stderr
        warnings.simplefilter("always")
        mod = load_inline(name=name, cpp_sources=[_SOURCE], functions=["gated_forward", "gated_backward"],
                          extra_cflags=cflags, extra_ldflags=["-fopenmp"], build_directory=str(build),
                          verbose=False)
    for w in caught:
        log.debug("actlab C++ gated kernels: build note: %s", w.message)
    return mod


def load() -> Any:
    """The compiled module, building it on first use; None (logged once) if it cannot be had here."""
    if _state["tried"]:
        return _state["module"]
    with _lock:
        if _state["tried"]:
            return _state["module"]
        if os.environ.get("ACTLAB_NO_CPP", "0") not in ("", "0"):
            _state["reason"] = "ACTLAB_NO_CPP is set"
            log.info("actlab C++ gated kernels off (ACTLAB_NO_CPP=1): using the torch path")
        else:
            t0 = time.perf_counter()
            try:
                _state["module"] = _build()
                _state["seconds"] = time.perf_counter() - t0
                log.debug("actlab C++ gated kernels ready in %.1f s (%s)", _state["seconds"], cache_dir())
            except Exception as e:  # noqa: BLE001 -- no compiler/ninja/headers: the torch path still works
                first = (str(e).strip().splitlines() or [""])[0][:200]
                _state["reason"] = f"{type(e).__name__}: {first}"
                log.info("actlab C++ gated kernels unavailable (%s): using the torch path", _state["reason"])
        _state["tried"] = True
        return _state["module"]


def available() -> bool:
    """Whether the compiled kernels can run here (builds them on first call)."""
    return load() is not None


def build_seconds() -> float | None:
    """Seconds the first :func:`load` in this process took (build, or just loading a cached build)."""
    return _state["seconds"]


def reason() -> str | None:
    """Why the compiled kernels are not used (None when they are)."""
    return _state["reason"]


def gate_args(gate: Activation) -> tuple[int, float, list[float], bool] | None:
    """(gate id, beta, limits, apply limits) for the C++ kernels, or None if they do not implement the gate."""
    name, p = gate.spec.name, gate.params
    if name not in _GATE_IDS:
        return None
    gid = 5 if name == "gelu" and p["approximate"] == "tanh" else _GATE_IDS[name]
    return (gid, float(p.get("beta", 1.0)), *limits4(gate))  # type: ignore[arg-type,return-value]


def forward(args: tuple[int, float, list[float], bool], a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> None:
    """c = gate(a) * b for 2-D views with contiguous rows (``c`` may be a view into a larger buffer)."""
    load().gated_forward(a, b, c, *args)


def backward(args: tuple[int, float, list[float], bool], a: torch.Tensor, b: torch.Tensor, dc: torch.Tensor,
             da: torch.Tensor, db: torch.Tensor) -> None:
    """da = dc * b * gate'(a), db = dc * gate(a); ``da`` may be ``dc`` itself."""
    load().gated_backward(a, b, dc, da, db, *args)
