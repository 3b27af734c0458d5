"""C03's measurements: the gradient imbalance is read at the first and last hidden layers' pre-activations
(not at their outputs, the read-out or the weights), survives a gradient that float32 cannot hold, and a
dead layer reads as dead with no gradient below it; the design's sweeps meet at the deciding cell."""

import copy
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from actlab.engine.train import build
from actlab.studies import c03_dead_saturated as c03, get_study

STUDY = get_study("C03")


def _xy(n=200):
    d = c03._task().data
    return d.x_train[:n], d.y_train[:n]


def _pre_activation_grads(net: nn.Sequential, x, y) -> list[float]:
    """An independent derivation: walk the Sequential by hand, keep every hidden Linear's output z."""
    zs, h = [], x
    linears = [m for m in net if isinstance(m, nn.Linear)]
    with torch.enable_grad():
        for m in net:
            h = m(h)
            if isinstance(m, nn.Linear) and m is not linears[-1]:
                h.retain_grad()
                zs.append(h)
        F.cross_entropy(h, y).backward()
    return [float(z.grad.norm()) for z in zs]


def test_the_imbalance_is_first_against_last_hidden_pre_activation():
    x, y = _xy()
    net = build(lambda: c03.model("sigmoid", 5, 32), 0, 5, 32)  # sigmoid: every layer loses ~0.6 decades
    want = _pre_activation_grads(copy.deepcopy(net).double(), x.double(), y)
    got = c03.backward_norms(copy.deepcopy(net).double(), x.double(), y)
    assert got == pytest.approx(want, rel=1e-9)
    m, a = c03._probe(c03.Config(probe_examples=200, grad_examples=200))(net, 0)
    assert a["grad_layers"] == pytest.approx(want, rel=1e-9)
    assert m["grad_imbalance"] == pytest.approx(abs(math.log10(want[0] / want[-1])), rel=1e-9)
    assert m["grad_log_ratio"] == pytest.approx(math.log10(want[0] / want[-1]), rel=1e-9) and m["grad_log_ratio"] < 0
    # the planted asymmetry makes the test sensitive: a wrong pair of layers gives a clearly different number
    assert abs(math.log10(want[1] / want[-1])) < m["grad_imbalance"] - 0.3
    assert abs(math.log10(want[0] / want[-2])) < m["grad_imbalance"] - 0.3
    # and pre-activation gradients are not the activations' output gradients (sigmoid' <= 1/4 lies between)
    post = []
    h = x.double()
    net64 = copy.deepcopy(net).double()
    with torch.enable_grad():
        for mod in net64:
            h = mod(h)
            if not isinstance(mod, nn.Linear):
                h.retain_grad()
                post.append(h)
        F.cross_entropy(h, y).backward()
    assert all(float(p.grad.norm()) > 3 * g for p, g in zip(post, want))
    # the weight-gradient version reads the first and last hidden Linear, per entry (not the read-out)
    lin = [mod for mod in net if isinstance(mod, nn.Linear)]
    wg = a["wgrad_layers"]
    assert len(wg) == len(lin) == 6
    per = [g / math.sqrt(layer.weight.numel()) for g, layer in zip(wg, lin)]
    assert m["wgrad_imbalance"] == pytest.approx(abs(math.log10(per[0] / per[-2])), rel=1e-9)


def test_a_gradient_below_float32_is_measured_not_capped():
    x, y = _xy()
    net = build(lambda: c03.model("sigmoid", 32, 16), 0, 32, 16)
    assert c03.backward_norms(net, x, y)[0] == 0.0  # float32 loses it: its squares underflow
    m, _ = c03._probe(c03.Config(probe_examples=200, grad_examples=200))(net, 0)
    assert 15 < m["grad_imbalance"] < c03.CAP  # ~20 decades, measured in float64


def test_a_dead_layer_is_dead_and_stops_the_gradient():
    x, y = _xy()
    depth = 4
    net = build(lambda: c03.model("relu", depth, 32), 0, depth, 32)
    lin = [mod for mod in net if isinstance(mod, nn.Linear)]
    with torch.no_grad():
        lin[1].bias.fill_(-1e4)  # the second hidden layer: negative on every input
        lin[2].bias.fill_(1.0)  # the third then sees zeros; a positive bias keeps it alive
    m, a = c03._probe(c03.Config(probe_examples=200, grad_examples=200))(net, 0)
    assert a["dead_layers"][1] == 1.0 and a["dead_layers"][2] == 0.0 and a["dead_layers"][3] < 1.0
    assert m["dead"] == pytest.approx(sum(a["dead_layers"]) / depth) and m["dead"] >= 0.25
    assert a["grad_layers"][0] == a["grad_layers"][1] == 0.0  # nothing passes the dead layer
    assert a["grad_layers"][2] > 0 and a["grad_layers"][3] > 0
    assert m["grad_imbalance"] == c03.CAP and m["grad_log_ratio"] == -c03.CAP


def test_imbalance_and_log_ratio_edges():
    assert c03.imbalance(1e-3, 1e-1) == pytest.approx(2.0)
    assert c03.imbalance(1e-1, 1e-3) == pytest.approx(2.0)
    assert c03.imbalance(1.0, 1e-40) == c03.CAP  # capped
    for bad in (0.0, math.nan, math.inf):
        assert c03.imbalance(bad, 1.0) == c03.CAP and c03.imbalance(1.0, bad) == c03.CAP
    assert c03.log_ratio(1e-3, 1e-1) == pytest.approx(-2.0)
    assert c03.log_ratio(0.0, 1.0) == -c03.CAP and c03.log_ratio(1.0, 0.0) == c03.CAP
    assert math.isnan(c03.log_ratio(0.0, 0.0)) and math.isnan(c03.log_ratio(math.nan, 1.0))


def test_the_sweeps_meet_at_the_deciding_cell_and_the_parts_select_them():
    cfg = c03.Config()
    cells = c03.cells(cfg)
    assert len(cells) == 9 and len({tuple(sorted(x.items())) for x in cells}) == 9
    deciding = {"depth": c03.DEPTH, "width": c03.WIDTH, "lr": c03.LR}
    assert deciding in cells
    widths = [x for x in cells if x["depth"] == c03.DEPTH and x["lr"] == c03.LR]
    assert sorted(x["width"] for x in widths) == [32, 128, 512]
    assert sorted(x["lr"] for x in cells if x["depth"] == c03.DEPTH and x["width"] == c03.WIDTH) == [1e-4, 1e-3, 1e-2]
    assert sorted(x["depth"] for x in cells if x["width"] == c03.DEPTH_WIDTH) == [2, 4, 8, 16, 32]
    deciding_parts = [p for p in STUDY.parts if p.decides]
    assert len(deciding_parts) == 9 and all(dict(p.cell) == deciding for p in deciding_parts)
    p = STUDY.primary
    assert (p.metric, p.direction, p.delta, p.baseline, tuple(p.compared)) == ("dead_end", "lower", 0.05, "relu",
                                                                                ("silu",))
    premises = [p for p in deciding_parts if p.within]
    assert {(p.compared, p.metric) for p in premises} == {(("relu",), "dead_end"), (("sigmoid",), "saturated_end"),
                                                           (("tanh",), "saturated_end")}
    assert all(p.worst == 0.0 and p.direction == "higher" for p in premises)  # a diverged net cannot support them
    for q in STUDY.parts:  # every part selects cells of the full profile with the factor it trends over
        sel = [x for x in cells if all(x.get(k) == v for k, v in q.cell.items())]
        assert sel, q.name
        if q.rule == "trend":
            assert len({x[q.factor] for x in sel}) >= 3, q.name


def test_the_quick_profile_only_shrinks_widths():
    quick, full = c03.PROFILES["quick"].config, c03.PROFILES["full"].config
    assert c03.cells(quick) == c03.cells(full)
    assert c03.trained_width(quick, 512) == 16 and c03.trained_width(quick, 32) == 4
    assert c03.trained_width(full, 512) == 512


def test_the_headers_reading_of_the_shipped_records_is_what_the_records_say():
    """The header's prose quotes numbers from results/C03.jsonl.gz: recompute each one from the records."""
    from actlab.engine.evidence import shipped_records
    from actlab.engine.verdicts import verdict

    recs = shipped_records("C03")
    v = verdict(c03.STUDY, "full", recs)
    doc = " ".join(c03.__doc__.split())

    def mean(depth, width, lr, arm, metric):
        return v["summary"][f'{{"depth":{depth},"lr":{lr},"width":{width}}}'][arm][metric]["mean"]

    def deciding(arm, metric):
        return mean(16, 512, 0.001, arm, metric)

    assert f"ReLU leaves {100 * deciding('relu', 'dead_end'):.0f} % of its units dead" in doc
    assert deciding("silu", "dead_end") == 0 and deciding("silu", "saturated_end") == 0
    assert f"tanh {100 * deciding('tanh', 'saturated_end'):.1f} % saturated" in doc
    assert f"Sigmoid does not saturate ({100 * deciding('sigmoid', 'saturated_end'):.2f} %)" in doc
    assert f"(test accuracy {deciding('sigmoid', 'test_acc'):.3f})" in doc
    assert f"gradient {deciding('sigmoid', 'grad_imbalance_end'):.0f} decades below" in doc
    assert (f"({deciding('silu', 'grad_imbalance_end'):.2f} decades against "
            f"{deciding('relu', 'grad_imbalance_end'):.2f}") in doc
    hi = {a: mean(16, 512, 0.01, a, m) for a, m in (("relu", "dead_end"), ("sigmoid", "saturated_end"),
                                                      ("tanh", "saturated_end"), ("silu", "dead_end"))}
    assert (f"ReLU {100 * hi['relu']:.0f} % dead, sigmoid {100 * hi['sigmoid']:.0f} % and tanh "
            f"{100 * hi['tanh']:.0f} % saturated, SiLU {100 * hi['silu']:.0f} % dead") in doc
    assert f"only ReLU loses units ({100 * mean(16, 512, 0.0001, 'relu', 'dead_end'):.1f} %)" in doc
    assert (f"from {100 * mean(2, 128, 0.001, 'relu', 'dead_end'):.0f} (2 layers) to "
            f"{100 * mean(32, 128, 0.001, 'relu', 'dead_end'):.0f} % (32 layers)") in doc
    assert f"({sum(r.seconds for r in recs):.0f} s of unit time)" in doc
