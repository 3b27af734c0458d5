"""``actlab bench`` and :mod:`actlab.kernels.bench`: what they count must be right (bytes kept for
backward, ffn-sized tensors of a GatedMLP step, the ratios' bookkeeping); the times themselves are
never asserted -- the machine is shared and noisy."""

from __future__ import annotations

import json

import pytest
import torch

from actlab.kernels import bench as B


def _rows(out, op):
    return {r["impl"]: r for r in out["ops"] if r["op"] == op}


def test_bench_json_counts_bytes_kept_and_keeps_its_bookkeeping(cli):
    res = cli("bench", "--ops", "relu,squareplus,swiglu", "--numel", 4096, "--reps", 1, "--no-mlp", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["numel"] == 4096 and out["dtype"] == "float32" and out["copy_GBps"] > 0
    relu, sq, sw = _rows(out, "relu"), _rows(out, "squareplus"), _rows(out, "swiglu")
    assert set(relu) == {"actlab", "eager"}
    # float32: 4 bytes per element and tensor kept.  Pointwise: only x; squareplus's eager composite
    # keeps several intermediates; gated: a and b fused, a, b and gate(a) eager.
    assert relu["actlab"]["saved_bytes_per_elem"] == 4
    assert sq["actlab"]["saved_bytes_per_elem"] == 4 < sq["eager"]["saved_bytes_per_elem"]
    assert sw["actlab cpp"]["saved_bytes_per_elem"] == 8 and sw["actlab torch"]["saved_bytes_per_elem"] == 8
    assert sw["eager"]["saved_bytes_per_elem"] == 12
    for rows in (relu, sq, sw):
        assert rows["eager"]["speedup_vs_eager"] == 1.0
        for r in rows.values():
            assert r["forward_ms"] > 0 and r["backward_ms"] > 0 and r["fwd_bwd_ms"] > 0
            assert r["speedup_vs_eager"] == pytest.approx(rows["eager"]["fwd_bwd_ms"] / r["fwd_bwd_ms"])
            # bytes: gated 3 + 5 element-passes, pointwise 2 + 3
            passes = 8 if r["op"] == "swiglu" else 5
            assert r["fwd_bwd_GBps"] == pytest.approx(passes * 4096 * 4 / (r["fwd_bwd_ms"] / 1e3) / 1e9)
            assert r["frac_of_copy"] == pytest.approx(r["fwd_bwd_GBps"] / out["copy_GBps"])
            assert "speedup_vs_compile" not in r


def test_bench_table_is_printed(cli):
    res = cli("bench", "--ops", "glu", "--numel", 1024, "--reps", 1, "--no-mlp")
    assert res.exit_code == 0, res.output
    assert "1.00x" in res.output and "actlab" in res.output and "eager" in res.output and "compile" not in res.output


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # inductor's own imports, not ours
def test_bench_against_torch_compile_compiles_every_op():
    """Each op gets its own compilation: the gated eager lambdas share one code object, and without a
    dynamo reset the later ops would be recompilations past the limit -- silently run eager."""
    from torch._dynamo.utils import counters

    with torch._dynamo.config.patch(recompile_limit=1):
        for name in ("swiglu", "glu"):
            before = counters["stats"]["unique_graphs"]
            rows = B.bench_op(B.get(name), 2048, torch.float32, "cpu", reps=1, compile=True)
            assert counters["stats"]["unique_graphs"] > before, f"{name} was not compiled"
            by = {r["impl"]: r for r in rows}
            assert "torch.compile" in by and by["torch.compile"]["speedup_vs_compile"] == 1.0
            for r in rows:
                assert r["speedup_vs_compile"] == pytest.approx(by["torch.compile"]["fwd_bwd_ms"] / r["fwd_bwd_ms"])


def test_gated_mlp_step_keeps_two_ffn_tensors_and_less_memory_than_eager():
    # ffn tensors of 2048 x 256 elements: several of the torch path's cache blocks
    rows = {r["impl"]: r for r in B.mlp_step_memory(64, 256, 2048, "cpu", reps=1)}
    eager, ours, torch_path = rows["eager"], rows["actlab"], rows["actlab torch"]
    assert eager["ffn_tensors_kept"] == 4  # a, b, gate(a), gate(a) * b
    assert ours["ffn_tensors_kept"] == 2 and torch_path["ffn_tensors_kept"] == 2  # a and b only
    assert ours["peak_vs_eager"] < 0.8 and torch_path["peak_vs_eager"] < 0.8
    assert eager["peak_vs_eager"] == 1.0
    if not rows["liger"]["available"]:
        assert rows["liger"]["reason"]  # said why, not silently dropped


@pytest.mark.parametrize("args,match", [
    (("--device", "tpu"), "cpu or cuda"),
    (("--dtype", "int8"), "--dtype"),
    (("--numel", "0"), "positive"),
    (("--reps", "-1"), "positive"),
    (("--ops", "nosuch_unit"), "nosuch_unit"),
])
def test_bench_bad_input_is_one_line_exit_2(cli, one_line_error, args, match):
    line = one_line_error(cli("bench", "--no-mlp", *args))
    assert match in line


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_bench_cuda_without_gpu_is_a_clear_error(cli, one_line_error):
    assert "no CUDA GPU" in one_line_error(cli("bench", "--device", "cuda"))


def test_bench_rows_are_named_for_the_path_that_runs():
    """On CUDA the fused rows are Triton's (float32/16/bf16), never labelled as the CPU kernel."""
    sw = B.get("swiglu")
    assert set(B._impls(sw, "cpu")) == {"actlab cpp", "actlab torch", "eager"}
    assert set(B._impls(sw, "cuda", torch.bfloat16)) == {"actlab triton", "actlab torch", "eager"}
    assert set(B._impls(sw, "cuda", torch.float64)) == {"actlab torch", "eager"}
    assert set(B._impls(B.get("silu"), "cuda")) == {"actlab", "eager"}
