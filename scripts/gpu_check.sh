#!/usr/bin/env bash
# The checks that need a CUDA GPU, in one run: the speed benchmarks of DIAMOND, Oasis, CS:GO and Genie
# (eager vs half / torch.compile / CUDA graphs, with the largest difference to eager) and short bf16
# trainings of DIAMOND and Genie on the GPU. Pick sections by name; each has its own time limit and log.
#   scripts/gpu_check.sh                       # all: oasis csgo diamond train genie (about 20 min)
#   scripts/gpu_check.sh oasis csgo            # some
# LOGS (default gpu_logs/) receives one log per section; PYTHON (default python3) runs them.
set -u
LOGS=${LOGS:-gpu_logs} PY=${PYTHON:-python3}
mkdir -p "$LOGS"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 SDL_VIDEODRIVER=dummy
sections=${*:-oasis csgo diamond train genie}

section() {  # name, seconds, command...
    local name=$1 limit=$2
    shift 2
    echo "== $name (limit ${limit}s): $*"
    local start=$SECONDS
    timeout "$limit" "$@" >"$LOGS/$name.log" 2>&1
    echo "   exit $? after $((SECONDS - start)) s"
}

for s in $sections; do
    case $s in
    diamond) section diamond 170 "$PY" scripts/bench_diamond.py --batch-sizes 1 32 --repeats 30 ;;
    oasis) section oasis 240 "$PY" scripts/bench_oasis.py --published --repeats 5 ;;
    csgo) section csgo 300 "$PY" scripts/bench_csgo.py --repeats 10 ;;
    train)
        section train 90 "$PY" -m challenges.diamond.train -c configs/diamond/atari100k.yaml \
            --run_dir /tmp/gpu_check/diamond --num_epochs 2 --precision bf16-mixed \
            --collect.first_epoch_min 300 --collect.first_epoch_max 300 --collect.steps_per_epoch 50 \
            --denoiser.steps_first_epoch 200 --denoiser.steps_per_epoch 50 \
            --rew_end_model.steps_first_epoch 100 --rew_end_model.steps_per_epoch 20 \
            --actor_critic.steps_first_epoch 20 --actor_critic.steps_per_epoch 10 \
            --evaluation.every 2 --evaluation.num_episodes 1 --evaluation.max_steps 200
        ;;
    genie)
        section genie-bench 150 "$PY" scripts/bench_genie.py --device cuda --repeats 10 --train-batch 48
        section tokenizer 60 "$PY" -m challenges.genie.tokenizer fit -c configs/tokenize.yaml \
            --data.root "${GENIE_DATA:-data}" --data.num_workers 2 --trainer.max_steps 60 \
            --trainer.val_check_interval 30 --trainer.limit_val_batches 2
        section genie 60 "$PY" -m challenges.genie.genie fit -c configs/genie.yaml \
            --data.root "${GENIE_DATA:-data}" --data.num_workers 2 --trainer.max_steps 60 \
            --trainer.val_check_interval 30 --trainer.limit_val_batches 2 \
            --model.tokenizer_ckpt_path "$(ls -td data/log/tokenizer/version_*/checkpoints/last.ckpt | head -1)"
        ;;
    *) echo "unknown section $s (diamond oasis csgo train genie)" && exit 2 ;;
    esac
done
echo "== summary"
grep -hE "^[A-Z].*(batch|window|preset|decoder|step)|median|frames/s|steps/s|max \||peak|epoch [0-9]|it/s|psnr|Error|error" \
    "$LOGS"/*.log | grep -v Warning | cut -c1-160
