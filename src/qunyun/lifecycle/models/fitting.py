"""Maximum likelihood on log-parameters, shared by every model.

Parameters of these models are positive and range over orders of magnitude,
so the optimiser works on their logarithms (the chain rule turns a gradient
in p into p x gradient), bounded to a wide box so a runaway step cannot reach
overflow. L-BFGS-B with the analytic gradient, from a few starting points;
the best converged optimum wins.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from qunyun.errors import ModelError
from qunyun.lifecycle.models.summary import Floats

# ln-parameter box: e^-12 ≈ 6e-6 to e^12 ≈ 1.6e5 (after time scaling, see callers).
_LOG_BOUND = 12.0

# value and gradient of the log-likelihood at positive parameters
Objective = Callable[[Floats], tuple[float, Floats]]


@dataclass(frozen=True)
class FitResult:
    params: Floats
    log_likelihood: float
    converged: bool
    iterations: int
    gradient_norm: float
    message: str


def maximise(objective: Objective, starts: Sequence[Sequence[float]], scale: float = 1.0) -> FitResult:
    """Maximise `objective` over positive parameters; `scale` divides the objective for the
    optimiser's sake (e.g. the number of members) without moving the optimum."""

    def negative(theta: Floats) -> tuple[float, Floats]:
        params = np.exp(theta)
        value, grad = objective(params)
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            return 1e300, np.zeros_like(theta)
        return -value / scale, -(grad * params) / scale

    best: FitResult | None = None
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(starts[0])
    for start in starts:
        result = minimize(
            negative,
            np.log(np.asarray(start, dtype=np.float64)),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9},
        )
        params = np.exp(result.x)
        value, grad = objective(params)
        candidate = FitResult(
            params=params,
            log_likelihood=float(value),
            converged=bool(result.success),
            iterations=int(result.nit),
            gradient_norm=float(np.linalg.norm(grad * params)),
            message=str(result.message),
        )
        if np.isfinite(candidate.log_likelihood) and (
            best is None or candidate.log_likelihood > best.log_likelihood + 1e-9
        ):
            best = candidate
    if best is None:
        raise ModelError("no starting point gave a finite likelihood", code="models.no_fit")
    return best
