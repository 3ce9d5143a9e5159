"""The member pages' words, zh-CN first, and how a page picks its language."""

from fastapi import Request

TEXTS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "switch": "English",
        "title": "我的会员中心",
        "hello": "你好，",
        "points": "我的积分",
        "expiring": "{points} 积分将于 {date} 过期",
        "checkin": "每日打卡",
        "streak": "已连续打卡 {current} 天（最长 {longest} 天）",
        "checkin_now": "立即打卡",
        "checked": "今天已打卡",
        "coupons": "我的优惠券",
        "no_coupons": "暂无可用优惠券",
        "until": "有效期至",
        "tier": "会员等级",
        "no_tier": "普通成员",
        "next_tier": "再获得 {points} 积分升级",
        "invite": "邀请好友",
        "invite_hint": "好友通过你的链接入群，你们各得积分；邀请越多，奖励越大。",
        "invite_landing": "邀请码 {code}：入群后把邀请码发给群主，你和邀请人都能获得积分。",
        "copy": "复制邀请链接",
        "submit": "提交",
        "thanks": "感谢你的反馈！",
        "failed": "操作没有成功，请稍后再试",
        "done.checkin": "打卡成功！",
        "link.invalid": "链接无效",
        "link.expired": "链接已过期，请向群主索取新链接",
        "survey.already_answered": "你已经填写过这份问卷",
        "survey.not_open": "问卷当前不在开放时间内",
        "survey.not_found": "问卷不存在",
        "member.not_found": "找不到你的会员信息",
    },
    "en": {
        "switch": "中文",
        "title": "My membership",
        "hello": "Hello, ",
        "points": "My points",
        "expiring": "{points} points expire on {date}",
        "checkin": "Daily check-in",
        "streak": "{current}-day streak (longest {longest})",
        "checkin_now": "Check in now",
        "checked": "Checked in today",
        "coupons": "My coupons",
        "no_coupons": "No coupons to use right now",
        "until": "valid until",
        "tier": "Membership tier",
        "no_tier": "Member",
        "next_tier": "{points} more points to the next tier",
        "invite": "Invite friends",
        "invite_hint": "Friends who join through your link earn you both points; "
        "more invites, bigger rewards.",
        "invite_landing": "Invite code {code}: after joining, send the code to the group owner "
        "and you both get points.",
        "copy": "Copy invite link",
        "submit": "Submit",
        "thanks": "Thank you for your feedback!",
        "failed": "That did not work, please try again later",
        "done.checkin": "Checked in!",
        "link.invalid": "This link is not valid",
        "link.expired": "This link has expired; ask the group owner for a new one",
        "survey.already_answered": "You have already answered this survey",
        "survey.not_open": "This survey is not open right now",
        "survey.not_found": "This survey does not exist",
        "member.not_found": "We could not find your membership",
    },
}


def pick_language(request: Request) -> str:
    """?lang=en|zh wins; then the browser's Accept-Language; zh-CN by default."""
    asked = request.query_params.get("lang", "").lower()
    if asked.startswith("en"):
        return "en"
    if asked.startswith("zh"):
        return "zh-CN"
    accept = request.headers.get("accept-language", "").lower()
    first = accept.split(",")[0].strip()
    return "en" if first.startswith("en") else "zh-CN"
