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
from qunyun.lifecycle.models.summary import Floats, Grouped

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


# Above this many members, a fit first runs on a subsample to find where to start.
WARM_START_MEMBERS = 50_000
_SUBSAMPLE = 20_000


def maximise_warm(
    objective_on: Callable[[Grouped], Objective], data: Grouped, starts: Sequence[Sequence[float]]
) -> FitResult:
    """`maximise` on grouped data; on large data, every start is tried on a subsample and the
    full data is fitted once from the best of them (a few iterations instead of dozens per
    start); if that does not converge, every start is tried on the full data after all."""
    if data.members <= WARM_START_MEMBERS:
        return maximise(objective_on(data), starts, scale=data.members)
    sample = data.subsample(_SUBSAMPLE, np.random.default_rng(0))
    warm = maximise(objective_on(sample), starts, scale=sample.members)
    curvature = _log_hessian(objective_on(sample), warm.params) / sample.members
    polished = _newton(objective_on(data), warm.params, curvature, data.members)
    if polished is not None:
        return polished
    result = maximise(objective_on(data), [warm.params.tolist()], scale=data.members)
    if result.converged:
        return result
    return maximise(objective_on(data), [*starts, warm.params.tolist()], scale=data.members)


def _log_hessian(objective: Objective, params: Floats, step: float = 1e-4) -> Floats:
    """Hessian of the log-likelihood in log-parameters, by central differences of the gradient."""
    theta = np.log(params)
    size = theta.size
    hessian = np.zeros((size, size))
    for j in range(size):
        shift = np.zeros(size)
        shift[j] = step
        up = np.exp(theta + shift)
        down = np.exp(theta - shift)
        hessian[:, j] = (objective(up)[1] * up - objective(down)[1] * down) / (2 * step)
    result: Floats = (hessian + hessian.T) / 2
    return result


_NEWTON_STEPS = 8
_NEWTON_GTOL = 1e-8  # per member, in log-parameters


def _newton(objective: Objective, start: Floats, curvature: Floats, members: int) -> FitResult | None:
    """Newton steps on the full data with the subsample's curvature (per member, scaled up):
    from a warm start, a handful of gradient evaluations instead of an L-BFGS run that has to
    learn the curvature again. None unless it converges (the caller then runs L-BFGS)."""
    hessian = curvature * members
    if not np.all(np.isfinite(hessian)) or np.any(np.linalg.eigvalsh(hessian) >= 0):
        return None  # not a maximum's curvature: let L-BFGS handle it
    theta = np.log(start)
    value, grad = objective(np.exp(theta))
    for iteration in range(1, _NEWTON_STEPS + 1):
        log_grad = grad * np.exp(theta)
        if np.linalg.norm(log_grad) / members < _NEWTON_GTOL:
            return FitResult(
                np.exp(theta), value, True, iteration - 1, float(np.linalg.norm(log_grad)), "newton"
            )
        step = -np.linalg.solve(hessian, log_grad)
        for _ in range(20):  # backtrack until the likelihood does not fall
            trial = np.clip(theta + step, -_LOG_BOUND, _LOG_BOUND)
            trial_value, trial_grad = objective(np.exp(trial))
            if np.isfinite(trial_value) and trial_value >= value - 1e-9 * abs(value):
                break
            step /= 2
        else:
            return None
        theta, value, grad = trial, trial_value, trial_grad
    return None


def at_original_scale(result: FitResult, params: Floats, objective: Objective) -> FitResult:
    """`result` (found on rescaled data) restated at the original scale: `params` scaled back,
    with the log-likelihood and gradient norm the original data gives them."""
    value, grad = objective(params)
    return FitResult(
        params=params,
        log_likelihood=value,
        converged=result.converged,
        iterations=result.iterations,
        gradient_norm=float(np.linalg.norm(grad * params)),
        message=result.message,
    )
