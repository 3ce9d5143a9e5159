"""Phrase lists the simulator composes its texts from (our own writing).

Each interest topic has keywords (what an interest tagger should find),
activity phrases, comments, questions, tips and products, in Chinese and a
smaller English set. `texts.py` combines them with templates, so a topic
yields thousands of distinct sentences rather than a handful of fixed ones.
Lists are written as "|"-separated strings to keep this data file compact.
"""

from dataclasses import dataclass


def _w(text: str) -> tuple[str, ...]:
    return tuple(text.split("|"))


@dataclass(frozen=True)
class Phrases:
    """One topic's phrases in one language; every list is non-empty."""

    keywords: tuple[str, ...]
    acts: tuple[str, ...]
    comments: tuple[str, ...]
    questions: tuple[str, ...]
    tips: tuple[str, ...]


@dataclass(frozen=True)
class Topic:
    name: str
    zh: Phrases
    en: Phrases
    products: tuple[str, ...]


def _topic(name: str, products: str, zh: list[str], en: list[str]) -> Topic:
    return Topic(name, Phrases(*map(_w, zh)), Phrases(*map(_w, en)), _w(products))


TOPICS: tuple[Topic, ...] = (
    _topic(
        "职场/技能提升",
        "职场写作训练营|Excel进阶课|简历精修服务",
        [
            "Excel|PPT|时间管理|沟通技巧|项目管理|面试|简历|副业|英语口语|数据分析|Python|述职汇报",
            "学Excel数据透视表|练PPT排版|准备下周的面试|改简历|看项目管理的课|复盘这个季度的工作"
            "|学Python自动化办公|练英语口语|琢磨述职汇报怎么做|研究副业方向",
            "效率高了不少|感觉还是挺有用的|有点难坚持|收获挺大的|比想象中简单|老板都夸了"
            "|还在摸索中|越学越觉得自己不够",
            "大家跳槽前一般会准备多久？|35岁转行还来得及吗？|有没有好用的时间管理方法？"
            "|周报大家都是怎么写的？|下班以后还有精力学习吗？|考证真的有用吗？",
            "每天早上先列三件最重要的事|开会前把结论写在第一页|简历上的成果尽量写数字"
            "|番茄钟25分钟真的好用|复杂的表格先画草图再动手",
        ],
        [
            "Excel|presentations|time management|interviews|resumes|side projects|public speaking"
            "|data analysis|Python",
            "preparing for an interview|polishing my resume|learning Python for work"
            "|practising public speaking|building a side project",
            "it has been really useful|hard to stay consistent|learned a lot|easier than I thought",
            "How do you all plan your week?|Is switching careers at 35 too late?"
            "|Any good courses for data analysis?|How do you write your weekly report?",
            "write the conclusion on the first slide|put numbers on every resume bullet",
        ],
    ),
    _topic(
        "育儿",
        "绘本套装|儿童益智玩具|宝宝辅食机",
        [
            "辅食|绘本|早教|睡眠训练|幼儿园|英语启蒙|疫苗|湿疹|分离焦虑|亲子游|兴趣班|儿童座椅",
            "给宝宝做辅食|陪孩子读绘本|研究幼儿园怎么选|做睡眠训练|带娃去亲子游|给孩子挑兴趣班"
            "|搞英语启蒙|处理宝宝湿疹",
            "孩子还挺喜欢的|真的太累了|效果慢慢出来了|每个孩子都不一样|当妈之后才知道不容易"
            "|终于轻松一点了|还在摸索|有点焦虑",
            "宝宝晚上总是醒怎么办？|几岁开始英语启蒙比较好？|上幼儿园哭闹大家怎么处理的？"
            "|辅食是先加米粉还是蔬菜泥？|孩子挑食有什么办法吗？|兴趣班报几个合适？",
            "睡前固定流程很重要|绘本让孩子自己翻页|辅食一次只加一种新食材"
            "|分离时别偷偷走要好好告别|多夸具体的行为",
        ],
        [
            "bedtime routines|picture books|baby food|kindergarten|screen time|toddler tantrums|family trips",
            "reading picture books with my son|trying a new bedtime routine"
            "|making baby food at home|visiting kindergartens|planning a family trip",
            "the kids love it|so exhausting|it is getting better|every kid is different",
            "How do you handle toddler tantrums?|When did your kids start kindergarten?"
            "|Any picture book recommendations?|How much screen time do you allow?",
            "keep the bedtime routine the same every night|praise the effort, not the kid",
        ],
    ),
    _topic(
        "摄影",
        "人像摄影课|相机清洁套装|手机摄影镜头",
        [
            "人像|夜景|扫街|胶片|构图|后期调色|定焦镜头|延时摄影|星空|逆光|手机摄影|黑白摄影",
            "拍夜景|练构图|学后期调色|出去扫街|拍星空|研究胶片|用手机拍人像|试定焦镜头|拍延时",
            "出片率高了不少|光线太难把握了|越拍越上瘾|器材不是最重要的|还得多练|朋友都说好看"
            "|效果比预期好|这次翻车了",
            "新手第一支镜头买什么好？|夜景怎么拍才不糊？|大家后期用什么软件？"
            "|手机拍人像有什么技巧？|逆光怎么拍出层次感？|胶片现在还值得玩吗？",
            "拍人像对焦在眼睛上|夜景记得带三脚架|构图可以先试试三分法|阴天的光其实很柔和|多拍几张总有满意的",
        ],
        [
            "portraits|night shots|street photography|film cameras|composition|color grading"
            "|prime lenses|astrophotography",
            "shooting street photography|practising composition|learning color grading"
            "|trying a prime lens|shooting the night sky",
            "getting better shots now|the light was tricky|totally addicted|need more practice",
            "Which lens should a beginner buy?|How do you keep night shots sharp?"
            "|What editing app do you use?|Is film photography still worth it?",
            "focus on the eyes for portraits|bring a tripod for night shots",
        ],
    ),
    _topic(
        "读书",
        "年度读书会员|精装书单礼盒|电子阅读器",
        [
            "《人类简史》|《活着》|《原则》|《三体》|《被讨厌的勇气》|《百年孤独》|《非暴力沟通》"
            "|心理学|历史书|推理小说|电子书|读书笔记",
            "读《三体》|重读《活着》|啃《原则》|看心理学的书|听《人类简史》的有声书|写读书笔记"
            "|补推理小说|读《非暴力沟通》",
            "越读越有意思|有点读不下去|推荐大家都看看|收获特别大|边读边做笔记|每天睡前读一点"
            "|比电影好看多了|读完久久不能平静",
            "大家一年能读多少本书？|纸质书和电子书更喜欢哪个？|有没有适合通勤听的书？"
            "|怎么坚持每天阅读？|最近有什么好书推荐吗？|读书笔记大家怎么做的？",
            "每天固定读二十分钟|读完写三句话的感想|不喜欢的书可以放下|一次只读一本|把书放在最容易拿到的地方",
        ],
        [
            "The Three-Body Problem|Sapiens|Principles|audiobooks|mystery novels|e-readers|reading notes",
            "reading Sapiens|re-reading The Three-Body Problem|listening to audiobooks on my commute"
            "|writing reading notes|catching up on mystery novels",
            "could not put it down|a bit slow going|highly recommend it|better than the movie",
            "How many books do you read a year?|Paper or e-reader?"
            "|Any good audiobooks for commuting?|What are you reading this month?",
            "read twenty minutes a day|write three sentences after each book",
        ],
    ),
    _topic(
        "健身",
        "蛋白粉|瑜伽垫|智能跳绳",
        [
            "跑步|深蹲|普拉提|瑜伽|跳绳|减脂餐|体态|力量训练|帕梅拉|游泳|核心训练|蛋白粉",
            "练深蹲|跳绳|跟帕梅拉练|上普拉提课|夜跑|练核心|做减脂餐|去游泳|调整体态",
            "坚持一个月瘦了三斤|今天累瘫了|比上周进步了|膝盖有点疼|出汗特别爽|还是要管住嘴"
            "|有人监督容易坚持|体重又反弹了",
            "跑步伤膝盖吗？|减脂期间晚饭怎么吃？|蛋白粉有必要喝吗？|在家练有什么推荐的课程？"
            "|平台期怎么突破？|早上练还是晚上练好？",
            "热身一定不能省|动作标准比次数重要|练完记得拉伸|睡够了减脂才快|先从每天十分钟开始",
        ],
        [
            "running|squats|pilates|yoga|jump rope|meal prep|strength training|swimming",
            "training for a 10k|doing squats every morning|trying pilates"
            "|meal prepping for the week|getting back into swimming",
            "down two kilos this month|completely wiped out today|beat my personal best"
            "|feels great after a sweat",
            "Does running hurt your knees?|Morning or evening workouts?"
            "|Is protein powder worth it?|Any good home workout videos?",
            "never skip the warm-up|form matters more than reps",
        ],
    ),
    _topic(
        "美食",
        "空气炸锅|零食大礼包|烘焙工具套装",
        [
            "红烧肉|空气炸锅|烘焙|火锅|家常菜|减脂便当|面包|糖醋排骨|咖啡|螺蛳粉|早餐|甜品",
            "做红烧肉|用空气炸锅做鸡翅|学烘焙|自己做面包|研究家常菜|带减脂便当|手冲咖啡"
            "|做糖醋排骨|给家人做早餐",
            "家里人都说好吃|第一次做就成功了|卖相一般味道不错|又失败了哈哈|比外卖健康多了"
            "|简单又好吃|一不小心做多了|下次少放点糖",
            "空气炸锅做什么最好吃？|红烧肉怎么做才不腻？|新手烘焙从什么开始？"
            "|有没有快手早餐推荐？|大家都去哪买食材？|面包为什么总是发不起来？",
            "炖肉先焯水去腥|烤箱一定要预热|糖色小火慢慢炒|面团发到两倍大就好|调料先兑好碗汁不手忙脚乱",
        ],
        [
            "braised pork|air fryers|baking|hot pot|sourdough|coffee|desserts",
            "baking sourdough|trying air fryer recipes|making hot pot at home"
            "|learning Sichuan dishes|brewing pour-over coffee",
            "the family loved it|first try and it worked|looks bad but tastes great"
            "|so much healthier than takeout",
            "What is the best thing to make in an air fryer?|Any quick breakfast ideas?"
            "|Why will my bread not rise?|Where do you buy your groceries?",
            "always preheat the oven|blanch the pork before braising",
        ],
    ),
    _topic(
        "旅行",
        "旅行收纳套装|民宿代金券|露营装备套装",
        [
            "云南|大理|川西|新疆|日本|露营|民宿|特价机票|签证|徒步|海岛|自驾",
            "规划川西自驾|看大理的民宿|办日本签证|蹲特价机票|准备露营装备|做新疆的攻略|研究海岛游|去周边徒步",
            "风景美到不真实|攻略做了好几天|人有点多|性价比很高|下次还想去|天气有点不给力"
            "|拍了好多照片|比想象中便宜",
            "第一次去云南怎么安排路线？|带娃出去玩去哪比较好？|大家订民宿看哪个平台？"
            "|自驾新疆需要几天？|露营新手要准备什么？|国庆出去玩人多吗？",
            "机票周二周三买比较便宜|行程别排太满|证件拍照存手机备用|山区记得带件外套|提前看好返程交通",
        ],
        [
            "Yunnan|Dali|Xinjiang|Japan|camping|road trips|cheap flights|visas|hiking",
            "planning a road trip in western Sichuan|booking a guesthouse in Dali"
            "|applying for a Japan visa|hunting for cheap flights|packing for a camping trip",
            "the views were unreal|spent days on the itinerary|a bit crowded|would go again",
            "First time in Yunnan, what route would you take?|Where do you book guesthouses?"
            "|How many days for a Xinjiang road trip?|What do camping beginners need?",
            "do not pack the itinerary too tight|keep photos of your documents on your phone",
        ],
    ),
    _topic(
        "优惠活动",
        "会员年卡|秒杀福袋|限时礼盒",
        [
            "优惠券|秒杀|拼团|满减|会员日|红包|抽奖|积分兑换|福利|返现|限时折扣|新人礼包",
            "蹲今晚的秒杀|凑满减|参加拼团|用积分兑换礼品|抢优惠券|等会员日|研究返现规则|参加抽奖",
            "这波力度挺大的|手慢了没抢到|算下来很划算|已经下单了|感觉不如上次|求多发点福利"
            "|谢谢群主的福利|每次都抢不到",
            "这次的优惠券怎么领？|拼团还差几个人？|积分什么时候过期？|会员日是哪天？"
            "|新人礼包在哪里领？|满减可以和优惠券叠加吗？",
            "优惠券记得在过期前用|秒杀提前把商品加购物车|拼团可以拉上家人一起"
            "|积分攒着换大件更划算|先领券再下单",
        ],
        [
            "coupons|flash sales|group buys|member day|cashback|giveaways|points|welcome gifts",
            "waiting for the flash sale tonight|joining a group buy|redeeming my points"
            "|grabbing coupons|entering the giveaway",
            "great deal this time|missed it again|already ordered|thanks for the perks",
            "How do I claim this coupon?|When is member day?|Do points expire?"
            "|Can coupons be combined with discounts?",
            "use coupons before they expire|add items to the cart before the flash sale",
        ],
    ),
    _topic(
        "数码",
        "蓝牙耳机|充电宝|数码收纳包",
        [
            "iPhone|华为|降噪耳机|机械键盘|平板|智能手表|充电宝|NAS|显示器|路由器|扫地机器人|相机",
            "挑降噪耳机|折腾NAS|换新手机|研究机械键盘|给爸妈选平板|升级路由器|对比智能手表|装新显示器",
            "用起来很顺手|续航比预期好|有点后悔买早了|性价比没得说|系统有点卡|颜值很高"
            "|折腾半天终于搞定|等降价再入手",
            "现在买手机选哪款？|降噪耳机推荐哪个？|NAS新手怎么入门？|机械键盘什么轴适合打字？"
            "|平板适合学生用吗？|扫地机器人值得买吗？",
            "买电子产品别赶首发|数据记得多地备份|充电宝上飞机要看容量"
            "|路由器放在房子中间信号最好|旧手机可以当监控用",
        ],
        [
            "iPhones|noise-cancelling headphones|mechanical keyboards|tablets|smartwatches|NAS boxes"
            "|monitors|robot vacuums",
            "picking noise-cancelling headphones|setting up a NAS|upgrading my phone"
            "|comparing smartwatches|building a mechanical keyboard",
            "works really smoothly|battery life is better than expected"
            "|should have waited for a sale|took ages to set up",
            "Which phone should I get now?|Any headphone recommendations?"
            "|How do I get started with a NAS?|Are robot vacuums worth it?",
            "never buy on launch day|back up your data in two places",
        ],
    ),
)

TOPIC_NAMES: tuple[str, ...] = tuple(t.name for t in TOPICS)
# How often a topic is somebody's interest: deals and food draw the crowds.
TOPIC_WEIGHTS: tuple[float, ...] = (1.2, 1.0, 0.8, 0.9, 1.0, 1.2, 1.0, 1.4, 0.9)

# Templates; each may use {act} {comment} {kw} {kw2} {question} {tip} {res}.
ZH_TEMPLATES = _w(
    "最近在{act}，{comment}|周末{act}，{comment}|有人一起{act}吗？|有没有懂{kw}的朋友？想请教一下"
    "|{kw}和{kw2}，大家更喜欢哪个？|求推荐{kw}相关的{res}|分享个小经验：{tip}"
    "|{kw}有什么入门建议吗？|{question}|{question}|说到{kw}，{comment}|今天{act}，{comment}"
)
EN_TEMPLATES = _w(
    "Been {act} lately, {comment}.|Anyone else into {kw}? Would love some tips."
    "|Quick poll: {kw} or {kw2}?|Any recommendations for {kw}?|{question}|{question}"
    "|Spent the weekend {act}, {comment}.|Talking of {kw}: {comment}.|Tip: {tip}."
)
ZH_RESOURCES = _w("资料|课程|博主|好物|入门书|经验帖|视频")
ZH_OPENERS = _w("||||||大家好，|请教一下，|哈哈，|说个事，|@所有人 |姐妹们，|各位，|插个话，")
ZH_ENDINGS = _w("||||||😄|🙏|[呲牙]|哈哈|👍|[偷笑]")
EN_OPENERS = _w("||||||Hi all, |Hey everyone! |btw ")
EN_ENDINGS = _w("||||| 😄| 🙏| lol| 👍")

ZH_ACKS = _w("收到|谢谢|好的|+1|👍|[表情]|收到，谢谢|谢谢分享|赞|哈哈哈|👌|[强]|[抱拳]|好的好的|学习了")
EN_ACKS = _w("ok|Thanks!|+1|👍|got it|thx|nice")

ZH_SHARES = _w(
    "分享一篇：《{kw}的{n}个实用技巧》 https://example.com/a/{code}"
    "|转发：{kw}入门指南，写得挺好 https://example.com/a/{code}"
    "|这篇讲{kw}的文章不错 https://example.com/a/{code}"
)
EN_SHARES = _w(
    "Sharing: {n} tips on {kw} https://example.com/a/{code}|Good read on {kw}: https://example.com/a/{code}"
)

ZH_COMPLAINTS = _w(
    "群里广告太多了，能不能管一管|客服三天都没回复我|上次买的东西有质量问题，怎么退货？"
    "|优惠券一直用不了，什么情况|消息太多了，考虑退群了|活动说好的礼品一直没收到"
    "|发货太慢了，等了一周还没到|内容越来越水了，有点失望|积分怎么突然清零了？"
    "|直播课卡得根本看不了|每天推销太频繁了|退款申请提交半个月了还没处理"
)
ZH_COMPLAINT_OPENERS = _w("|||说实话，|真的无语，|@群主 |有点失望，")
EN_COMPLAINTS = _w(
    "Too many ads in this group lately.|Support has not replied for three days."
    "|My coupon does not work, what is going on?|The order still has not shipped after a week."
)

REACTIONS = _w("👍|❤️|😂|👏|🎉|🙏|😮|[强]")

# Nicknames: Chinese-looking names from surname and given-name pools, a few
# phrase nicknames, and English handles.
SURNAMES = tuple(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵"
)
GIVEN = tuple(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚英华玉萍红玲芬燕彬鹏浩凯健俊帆帅旭宁琳晨辰雪晶"
    "婷欣悦瑶怡梓涵轩宇博文昊然诗雨嘉佳思萱诺航"
)
PHRASE_NICKS = _w(
    "追光的人|岁月静好|向日葵|快乐每一天|一只猫|晴天|知足常乐|风轻云淡|平安喜乐|努力的小胖"
    "|早睡早起|吃货一枚|奔跑的蜗牛|海阔天空|微笑|糖糖|大橙子|咸鱼翻身"
)
HONORIFICS = _w("姐|哥|老师|总|叔")
EN_FIRST = _w(
    "Kevin|Lucy|Tom|Amy|Jack|Cindy|Leo|Vivian|Eric|Grace|Jason|Coco|Tony|Emma|David|Lily|Sam"
    "|Iris|Ryan|Zoe|Alex|Nina|Frank|Echo"
)
EN_SUFFIX = _w("|| Zhang| Wang| Li| Chen| Liu|_88|_2024|.w|666|_sh")
PHONE_PREFIXES = _w("138|139|136|135|137|150|151|152|158|186|187|188|177|199")
