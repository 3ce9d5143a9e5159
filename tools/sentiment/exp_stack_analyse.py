"""Stacking on the out-of-fold features written by exp_stack.py: python exp_stack_analyse.py F_text.npz F_both.npz"""
import sys, numpy as np, json, re
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.metrics import f1_score
D=json.load(open('train_clean.json'));T=D['texts']
L=np.log1p([len(t) for t in T])
h=np.array([bool(re.search('酒店|宾馆|房间|前台|入住|服务员|携程',t)) for t in T])
names="whole mean last first min max tail head has".split()
for f in sys.argv[1:]:
    d=np.load(f);F=d["F"];y=d["y"]
    def rep(p,tag):
        print(f"  {tag:40s} all={f1_score(y,p,average='macro'):.4f} hotel(n={h.sum()})={f1_score(y[h],p[h],average='macro'):.4f} long>=100={f1_score(y[L>np.log1p(100)],p[L>np.log1p(100)],average='macro'):.4f}")
    print(f)
    for i,n in enumerate(names[:8]): rep((F[:,i]>=0).astype(int), n)
    cv=StratifiedKFold(5,shuffle=True,random_state=1)
    for cols in [[0],[0,1],[0,2],[0,6],[0,6,7,8],[0,1,2,3,4,5,6,7,8],[0,1,2,6]]:
        X=np.c_[F[:,cols], F[:,cols]*L[:,None]/5, L] if True else F[:,cols]
        p=cross_val_predict(LogisticRegression(C=1.0,max_iter=2000),X,y,cv=cv)
        rep(p,"stack+len "+",".join(names[c] for c in cols))
        p=cross_val_predict(LogisticRegression(C=1.0,max_iter=2000),F[:,cols],y,cv=cv)
        rep(p,"stack "+",".join(names[c] for c in cols))
