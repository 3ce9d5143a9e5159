"""Column layouts of platform exports that both the importers and the simulator speak."""

# WeChatMsg / MemoTrace (留痕) since 0.2.7; versions before wrote only the first nine.
MEMOTRACE_COLUMNS: tuple[str, ...] = (
    "localId",
    "TalkerId",
    "Type",
    "SubType",
    "IsSender",
    "CreateTime",
    "Status",
    "StrContent",
    "StrTime",
    "Remark",
    "NickName",
    "Sender",
)
MEMOTRACE_OLD_COLUMNS = MEMOTRACE_COLUMNS[:9]
