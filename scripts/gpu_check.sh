#!/usr/bin/env bash
# The checks that need a CUDA GPU, in one run: the speed benchmarks of DIAMOND, Oasis, CS:GO and Genie
# (eager vs half / torch.compile / CUDA graphs, with the largest difference to eager) and short bf16
# trainings of DIAMOND and Genie on the GPU. Pick sections by name; each has its own time limit and log.
#   scripts/gpu_check.sh                       # all: oasis csgo diamond train genie (about 26 min)
#   scripts/gpu_check.sh oasis csgo            # some
# LOGS (default gpu_logs/) receives one log per section; PYTHON (default python3) runs them; the genie
# section trains on GENIE_DATA (default data: GENIE_DATA/coinrun/{train,val} from genie-sample + genie-split).
# Exits 1 if any section failed or ran out of time.
set -u
LOGS=${LOGS:-gpu_logs} PY=${PYTHON:-python3} DATA=${GENIE_DATA:-data}
sections=${*:-oasis csgo diamond train genie}
for s in $sections; do
    case $s in oasis | csgo | diamond | train | genie) ;; *) echo "unknown section $s (oasis csgo diamond train genie)" && exit 2 ;; esac
done
mkdir -p "$LOGS"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 SDL_VIDEODRIVER=dummy
scratch=$(mktemp -d)
failed=0 ran=()

section() { # name, seconds, command...
    local name=$1 limit=$2
    shift 2
    echo "== $name (limit ${limit}s): $*"
    local start=$SECONDS code
    timeout -k 10 "$limit" "$@" >"$LOGS/$name.log" 2>&1
    code=$?
    echo "   exit $code after $((SECONDS - start)) s"
    ran+=("$name")
    [ "$code" -eq 0 ] || failed=1
    return "$code"
}

for s in $sections; do
    case $s in
    oasis) section oasis 480 "$PY" scripts/bench_oasis.py --published --profile --repeats 5 ;;
    csgo) section csgo 420 "$PY" scripts/bench_csgo.py --repeats 10 ;;
    diamond) section diamond 170 "$PY" scripts/bench_diamond.py --batch-sizes 1 32 --repeats 30 ;;
    train)
        section train 90 "$PY" -m challenges.diamond.train -c configs/diamond/atari100k.yaml \
            --run_dir "$scratch/diamond" --num_epochs 2 --precision bf16-mixed \
            --collect.first_epoch_min 300 --collect.first_epoch_max 300 --collect.steps_per_epoch 50 \
            --denoiser.steps_first_epoch 200 --denoiser.steps_per_epoch 50 \
            --rew_end_model.steps_first_epoch 100 --rew_end_model.steps_per_epoch 20 \
            --actor_critic.steps_first_epoch 20 --actor_critic.steps_per_epoch 10 \
            --evaluation.every 2 --evaluation.num_episodes 1 --evaluation.max_steps 200
        ;;
    genie)
        section genie-bench 150 "$PY" scripts/bench_genie.py --device cuda --repeats 10 --train-batch 48
        short=(--data.root "$DATA" --data.num_workers 2 --trainer.max_steps 60 --trainer.val_check_interval 30
            --trainer.limit_val_batches 2)
        # The CLIs log under ./data/log/{tokenizer,genie}; the newest tokenizer checkpoint is this run's.
        if section tokenizer 60 "$PY" -m challenges.genie.tokenizer fit -c configs/tokenize.yaml "${short[@]}"; then
            tokenizer=$(ls -td data/log/tokenizer/version_*/checkpoints/last.ckpt | head -1)
            section genie 60 "$PY" -m challenges.genie.genie fit -c configs/genie.yaml "${short[@]}" \
                --model.tokenizer_ckpt_path "$tokenizer"
        fi
        ;;
    esac
done
rm -rf "$scratch"
echo "== summary (tables and errors; whole logs in $LOGS/)"
for name in "${ran[@]}"; do
    echo "-- $name"
    grep -vE "[Ww]arn|^\s|^$|Tip:|LitLogger" "$LOGS/$name.log" | tail -n 30 | cut -c1-160
done
exit "$failed"
