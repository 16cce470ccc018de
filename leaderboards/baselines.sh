#!/usr/bin/env bash
# Regenerate the built-in baselines' entries with the toolkit's own commands.
#   bash leaderboards/baselines.sh            (from the repository root; needs the benchmark built:
#                                              nasbench-meta datasets build nas-bench-graph)
# Runs are cheap on tables (minutes); the meta-trained warm start ("meta") fits its predictor
# (weighted-rank by default) once per target task in seconds; predictor evaluations take longest.
# Entries are never overwritten: delete leaderboards/nas-bench-graph/*/entries/<id>.json first to
# regenerate one. URL defaults to this script inside the repository (repo:<path>).
set -euo pipefail
URL="${URL:-repo:leaderboards/baselines.sh}"
AUTHOR="nasbench-meta developers"
WORK="${WORK:-baseline-runs}"
mkdir -p "$WORK"

# NAS: every task, budget 100 queries, seeds 0-9 (what the board requires).
nasbench-meta search grid --methods rs,re,ls,bananas,meta --tasks all --budget 100 --seeds 10 --out-dir "$WORK/search"
declare -A NAMES=([rs]="Random search" [re]="Regularized evolution" [ls]="Local search"
                  [bananas]="BANANAS" [meta]="Meta-trained warm start (weighted-rank)")
for m in rs re ls bananas meta; do
  id=$(echo "${NAMES[$m]}" | tr 'A-Z' 'a-z' | sed -E 's/[^a-z0-9]+/-/g; s/^-|-$//g')
  [ -e "leaderboards/nas-bench-graph/nas/entries/$id--1.json" ] && continue
  nasbench-meta leaderboard pack --board nas --name "${NAMES[$m]}" --version 1 --author "$AUTHOR" --url "$URL" \
    --notes "built-in baseline '$m': nasbench-meta search grid --methods $m --tasks all --budget 100 --seeds 10" \
    -o "$WORK/submission-$m.json" "$WORK"/search/"$m"-*.json
  nasbench-meta leaderboard submit "$WORK/submission-$m.json"
done

# Predictors: leave one task out over the 8 complete tasks, K = 0, 10, 20, 50, 100, fit seed 0.
declare -A PNAMES=([mean-rank]="Mean rank" [weighted-rank]="Weighted rank" [xgb]="XGBoost (single task)"
                   [xgb-meta]="XGBoost meta-surrogate" [gnn-meta]="GNN meta-predictor"
                   [gp-meta]="Deep-kernel GP meta-predictor")
declare -A PSEEDS=([mean-rank]=5 [weighted-rank]=5 [xgb]=3 [xgb-meta]=5 [gnn-meta]=5 [gp-meta]=5)
declare -A PVERSIONS=([gp-meta]=2)  # the predictor's own version (nasbench-meta predictors list); 1 otherwise
for p in mean-rank weighted-rank xgb xgb-meta gnn-meta gp-meta; do
  id=$(echo "${PNAMES[$p]}" | tr 'A-Z' 'a-z' | sed -E 's/[^a-z0-9]+/-/g; s/^-|-$//g')
  version="${PVERSIONS[$p]:-1}"
  [ -e "leaderboards/nas-bench-graph/predictors/entries/$id--$version.json" ] && continue
  nasbench-meta predictors evaluate --predictor "$p" --holdout all --seeds "${PSEEDS[$p]}" --out "$WORK/predictors-$p"
  nasbench-meta leaderboard pack --board predictors --name "${PNAMES[$p]}" --version "$version" --author "$AUTHOR" --url "$URL" \
    --notes "built-in predictor '$p': nasbench-meta predictors evaluate --predictor $p --holdout all --seeds ${PSEEDS[$p]} (K = 0 10 20 50 100, fit seed 0)" \
    -o "$WORK/submission-$p.json" "$WORK/predictors-$p/evaluation-$p.json"
  nasbench-meta leaderboard submit "$WORK/submission-$p.json"
done
nasbench-meta leaderboard check
