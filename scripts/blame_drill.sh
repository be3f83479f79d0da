#!/usr/bin/env bash
# The blame drill (`just test`): in a copy of the workspace, five reference functions per week
# are made to return the right dtype in the wrong shape, then (second grade) the right shape
# with transposed values (a vector reversed, a scalar negated). Every drilled exercise must be
# `failed` with a shape or values diagnosis, never `error` (the grader's fault) and never
# `passed`; no other exercise of the week may turn into an `error` either.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

# week file function exercise-id, five per week
DRILLS="
week0 bigram.rs bigram_probs week0.bigram.probs
week0 neural_bigram.rs softmax week0.neural_bigram.softmax
week0 mlp.rs mlp_forward week0.mlp.forward
week0 backprop.rs cross_entropy_backward week0.backprop.cross_entropy_backward
week0 backprop.rs tanh_backward week0.backprop.tanh_backward
week1 arrays.rs outer week1.arrays.outer
week1 arrays.rs triu week1.arrays.triu
week1 arrays.rs vstack week1.arrays.vstack
week1 arrays.rs pairwise_distances week1.arrays.pairwise_distances
week1 arrays.rs diff week1.arrays.diff
week2 attention.rs scaled_dot_product week2.attention.scaled_dot_product
week2 attention.rs bilinear_scores week2.attention.bilinear_scores
week2 attention.rs split_heads week2.attention.split_heads
week2 attention.rs sinusoidal_positions week2.attention.sinusoidal_positions
week2 bert.rs pooler week2.bert.pooler
week3 train_loop.rs dropout week3.train_loop.dropout
week4 dqn.rs td_target week4.dqn.td_target
week4 dqn.rs huber week4.dqn.huber
week4 lm_rl.rs kl_rewards week4.lm_rl.kl_rewards
week4 lm_rl.rs fudge week4.lm_rl.fudge
week4 dpo.rs seq_logprob week4.dpo.seq_logprob
"

tmp="$(mktemp -d)"
copy="$tmp/candlecamp"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$copy"
(cd "$ROOT" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$copy") || exit 1
cp -a "$ROOT/data" "$copy/" 2>/dev/null
# Reuse our dependency builds (cp -a keeps the timestamps Cargo checks).
mkdir -p "$copy/target"
[ -d "$ROOT/target/debug" ] && cp -a "$ROOT/target/debug" "$copy/target/debug"

# The wrapper each drilled file gets once: CANDLECAMP_DRILL picks the fault at run time, so one
# build serves both grades.
MANGLE='
#[allow(dead_code)]
fn drill_mangle(t: candle_core::Tensor) -> candle_core::Result<candle_core::Tensor> {
    match std::env::var("CANDLECAMP_DRILL").as_deref() {
        Ok("shape") => t.unsqueeze(0),
        _ => match t.rank() {
            0 => t.affine(-1.0, 0.0),
            1 => {
                let n = t.dim(0)? as u32;
                t.index_select(&candle_core::Tensor::from_vec((0..n).rev().collect::<Vec<u32>>(), n as usize, t.device())?, 0)
            }
            r => t.transpose(0, r - 1)?.contiguous()?.reshape(t.shape()),
        },
    }
}
'
echo "$DRILLS" | while read -r week file func id; do
  [ -n "$week" ] || continue
  f="$copy/solutions/$week/src/$file"
  grep -q "fn drill_mangle" "$f" || printf '%s' "$MANGLE" >> "$f"
  # pub fn f(args) -> Result<Tensor> { … }  →  fn f__reference(args) …, plus a mangling pub fn f(args).
  FUNC="$func" perl -0pi -e '
    my $f = $ENV{FUNC};
    s/pub fn \Q$f\E\(([^)]*)\) -> Result<Tensor> \{/
      my $params = $1;
      my @names = map { (split(m{:}, $_))[0] =~ s{^\s*(mut\s+)?}{}r =~ s{\s+$}{}r } grep { m{:} } split(m{,}, $params);
      "pub fn $f($params) -> Result<Tensor> { drill_mangle(${f}__reference(" . join(", ", @names) . ")?) }\nfn ${f}__reference($params) -> Result<Tensor> {"
    /e or die "no pub fn $f in the file\n";
  ' "$f" || exit 1
done || exit 1

status=0
for week in week0 week1 week2 week3 week4; do
  for mode in shape transpose; do
    out="$tmp/$week-$mode.json"
    (cd "$copy" && CANDLECAMP_DRILL=$mode CARGO_TARGET_DIR="$copy/target" cargo run -q -p grader --features reference -- grade "$week" --json > "$out" 2>"$tmp/err")
    if ! grep -q '"exercises"' "$out"; then
      echo "blame drill: $week ($mode) printed no report:"; tail -20 "$tmp/err"; status=1; continue
    fi
    # Every exercise as "id<TAB>status<TAB>detail" (the report is pretty JSON, one key a line).
    # The first status and detail after an id are the exercise's (its checks' come later).
    rows=$(awk '/^    {$/ { id = ""; st = ""; d = "" } /^      "id":/ { gsub(/[",]/, "", $2); id = $2 } /^      "status":/ { gsub(/[",]/, "", $2); st = $2 } /^      "detail":/ { d = $0 } /^      "seconds":/ && id != "" { print id "\t" st "\t" d }' "$out")
    errors=$(echo "$rows" | awk -F'\t' '$2 == "error"')
    if [ -n "$errors" ]; then
      echo "blame drill: $week ($mode): an exercise reported as the grader's fault:"; echo "$errors"; status=1
    fi
    for id in $(echo "$DRILLS" | awk -v w="$week" '$1 == w { print $4 }'); do
      row=$(echo "$rows" | awk -F'\t' -v id="$id" '$1 == id')
      st=$(echo "$row" | cut -f2)
      want='shape is'
      [ "$mode" = transpose ] && want='differ|does not fit|shape is'
      if [ "$st" != failed ] || ! echo "$row" | grep -Eq "$want"; then
        echo "blame drill: $week ($mode): $id is ${st:-missing}, expected failed with a diagnosis ($want): $row"; status=1
      fi
    done
    echo "blame drill: $week, $mode: $(echo "$DRILLS" | awk -v w="$week" '$1 == w' | wc -l) drilled exercises failed with a diagnosis; no exercise of the week is an error"
  done
done
exit $status
