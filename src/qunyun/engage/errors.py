"""What engagement actions refuse, each with a stable code (the CLI prints one line)."""

from qunyun.errors import QunyunError


class EngageError(QunyunError):
    pass


class InsufficientPointsError(EngageError):
    def __init__(self, member_id: int, wanted: int, available: int) -> None:
        super().__init__(
            f"member {member_id} has {available} points, {wanted} needed", code="points.insufficient"
        )
        self.available = available


class InvalidAmountError(EngageError):
    def __init__(self, amount: int) -> None:
        super().__init__(f"points must be a positive whole number, not {amount}", code="points.bad_amount")


class RefundError(EngageError):
    pass


class CouponError(EngageError):
    pass


class CheckinError(EngageError):
    pass


class ReferralError(EngageError):
    pass
