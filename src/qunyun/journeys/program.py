"""A playbook's steps compiled to a flat program: what the engine's program counter walks.

Branches become jumps, so an enrolment's whole position is one integer and
each instruction has a stable id (the step's own `id`, else its position),
which the idempotency keys of its effects are made from.

    steps: [send_message, {if: c, then: [a], else: [b]}, wait]
    0 send_message · 1 if c else→4 · 2 a · 3 jump→5 · 4 b · 5 wait · (6 = end)
"""

from dataclasses import dataclass

from qunyun.journeys.definition import Playbook, Step


@dataclass(frozen=True)
class Instruction:
    op: str  # an action name, "if" (jump to `target` when false) or "jump"
    step_id: str
    step: Step | None = None
    target: int = -1


@dataclass(frozen=True)
class Program:
    instructions: tuple[Instruction, ...]

    @property
    def end(self) -> int:
        return len(self.instructions)


def compile_playbook(playbook: Playbook) -> Program:
    out: list[Instruction] = []
    _emit(playbook.steps, out)
    return Program(tuple(out))


def _emit(steps: list[Step], out: list[Instruction]) -> None:
    for step in steps:
        at = len(out)
        step_id = step.id or f"s{at}"
        if step.if_ is None:
            out.append(Instruction(step.action, step_id, step))
            continue
        out.append(Instruction("if", step_id, step))  # target patched once the then-block is laid out
        _emit(step.then or [], out)
        if step.else_:
            jump_at = len(out)
            out.append(Instruction("jump", f"{step_id}-end"))
            out[at] = Instruction("if", step_id, step, target=len(out))
            _emit(step.else_, out)
            out[jump_at] = Instruction("jump", f"{step_id}-end", target=len(out))
        else:
            out[at] = Instruction("if", step_id, step, target=len(out))
