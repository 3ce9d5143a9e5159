"""Engagement mechanics (MISSION.md section 5): points ledger, check-ins, coupons,
referrals, tiers, badges and leaderboards."""
