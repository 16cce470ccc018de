import sys, time
import numpy as np
from scipy.stats import spearmanr
from nasbench_meta.benchmark import open_benchmark
from nasbench_meta.predictors import *
b=open_benchmark()
name=sys.argv[1]; tasks=sys.argv[2].split(","); Ks=[int(k) for k in sys.argv[3].split(",")]
import json; cfg=json.loads(sys.argv[4]) if len(sys.argv)>4 else {}
res={K:[] for K in Ks}
for task in tasks:
    t0=time.time()
    p=fit_for_task(name,b,task,seed=0,split="valid",config=cfg)
    tf=time.time()-t0
    for K in Ks:
        for seed in range(2):
            s=predict_with(p,b,task,shots=K,seed=seed,split="valid")
            sup=set(s.attrs["support_keys"]); m=~s.index.isin(list(sup))
            y=b.scores(task,split="valid",seeds="mean")[b.rows(s.index)]
            res[K].append(spearmanr(s.values[m],y[m]).statistic)
    print(task, f"fit {tf:.1f}s", {K: round(np.mean(v[-2:]),3) for K,v in res.items()}, flush=True)
print(name, {K: round(np.mean(v),3) for K,v in res.items()})
