"""BG/NBD fitting at 1M members: ours (grouped, analytic gradient) vs the `lifetimes` package.

Draws 1,000,000 members from BG/NBD itself (daily data: ages of 1-365 whole days, event days
floored to the day), then times:
- our `bgnbd.fit` (grouping into distinct (x, t_x, T) triples included);
- `lifetimes` 0.11.3 BetaGeoFitter on the same data, in its own virtualenv under
  benchmarks/out/ (created by this script with uv; lifetimes needs pandas<3 and setuptools<82);
- a straightforward ungrouped scipy implementation (the likelihood per member, L-BFGS-B with
  numerical gradients), written here, as the fallback baseline when lifetimes cannot be
  installed and as a second reference.
Every log-likelihood is evaluated with the same function on the same data, so they compare.
Target (issue: Step 3): at least 20x faster than the baseline at a log-likelihood no worse.

    .venv/bin/python benchmarks/bench_models.py [--members 1000000] [--skip-ungrouped]
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, gammaln

from qunyun.lifecycle.models import bgnbd, synthetic
from qunyun.lifecycle.models.summary import Grouped, Summary

OUT = Path(__file__).parent / "out"
TRUTH = (0.3, 10.0, 0.8, 2.5)  # r, alpha (days), a, b

_LIFETIMES_FIT = """
import json, sys, time, warnings
import numpy as np
warnings.filterwarnings("ignore")
from lifetimes import BetaGeoFitter
data = np.load(sys.argv[1])
started = time.perf_counter()
fitter = BetaGeoFitter().fit(data["x"], data["t_x"], data["T"])
seconds = time.perf_counter() - started
params = [float(fitter.params_[k]) for k in ("r", "alpha", "a", "b")]
print(json.dumps({"seconds": seconds, "params": params}))
"""


def draw(members: int, seed: int) -> Summary:
    rng = np.random.default_rng(seed)
    ages = rng.integers(1, 366, members).astype(np.float64)
    drawn = synthetic.beta_geometric(rng, members, *TRUTH, ages)
    return Summary.of(drawn.x, np.floor(drawn.t_x), drawn.T)


def ungrouped_fit(s: Summary) -> tuple[float, np.ndarray]:
    """The textbook way: the BG/NBD log-likelihood summed over every member, numerical gradient."""

    def negative(theta: np.ndarray) -> float:
        r, alpha, a, b = np.exp(theta)
        x, t_x, age = s.x, s.t_x, s.T
        first = betaln(a, b + x) - betaln(a, b) + gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        alive = -(r + x) * np.log(alpha + age)
        dropped = np.where(
            x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-12)) - (r + x) * np.log(alpha + t_x), -np.inf
        )
        return -float(np.sum(first + np.logaddexp(alive, dropped)))

    started = time.perf_counter()
    result = minimize(negative, np.zeros(4), method="L-BFGS-B", bounds=[(-12, 12)] * 4)
    return time.perf_counter() - started, np.exp(result.x)


def _uv() -> list[str]:
    """uv as the Makefile runs it (the system Python's module; the project venv has no uv)."""
    for python in ("python3", sys.executable):
        found = subprocess.run([python, "-m", "uv", "--version"], capture_output=True, check=False)
        if found.returncode == 0:
            return [python, "-m", "uv"]
    return ["uv"]


def lifetimes_fit(s: Summary) -> tuple[float, np.ndarray] | None:
    venv = OUT / "lifetimes-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        uv = _uv()
        made = subprocess.run([*uv, "venv", "--quiet", str(venv)], check=False)
        installed = (
            made.returncode == 0
            and subprocess.run(
                [
                    *uv,
                    "pip",
                    "install",
                    "--quiet",
                    "--python",
                    str(python),
                    "lifetimes==0.11.3",
                    "pandas<3",
                    "setuptools<82",
                ],
                check=False,
            ).returncode
            == 0
        )
        if not installed:
            print("lifetimes could not be installed here; the ungrouped scipy fit is the baseline")
            return None
    data = OUT / "bgnbd-bench.npz"
    np.savez(data, x=s.x, t_x=s.t_x, T=s.T)
    done = subprocess.run(
        [str(python), "-c", _LIFETIMES_FIT, str(data)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        print(f"lifetimes failed:\n{done.stderr[-2000:]}")
        return None
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return float(result["seconds"]), np.array(result["params"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-ungrouped", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    started = time.perf_counter()
    s = draw(args.members, args.seed)
    print(
        f"drew {len(s):,} BG/NBD members (truth r, α, a, b = {TRUTH}) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    grouped = Grouped.of(s)

    def ll(params: np.ndarray) -> float:
        return bgnbd.log_likelihood(np.asarray(params, dtype=np.float64), grouped)[0]

    started = time.perf_counter()
    ours = bgnbd.fit(s)
    our_s = time.perf_counter() - started
    our_params = np.array(list(ours.params.as_dict().values()))
    print(
        f"{'ours (grouped, analytic gradient)':<36}: {our_s:7.2f} s  LL {ll(our_params):,.1f}  "
        f"params {np.round(our_params, 4).tolist()}  ({ours.triples:,} distinct triples)"
    )
    baselines: dict[str, tuple[float, np.ndarray]] = {}
    found = lifetimes_fit(s)
    if found is not None:
        baselines["lifetimes 0.11.3 BetaGeoFitter"] = found
    if not args.skip_ungrouped or not baselines:
        baselines["ungrouped scipy, numerical gradient"] = ungrouped_fit(s)
    for name, (seconds, params) in baselines.items():
        gap = ll(our_params) - ll(params)
        print(f"{name:<36}: {seconds:7.2f} s  LL {ll(params):,.1f}  params {np.round(params, 4).tolist()}")
        print(
            f"{'  ours vs it':<36}: {seconds / our_s:7.1f}x faster (target >= 20x), "
            f"LL {gap:+.2f} (>= 0 wanted)"
        )


if __name__ == "__main__":
    main()
