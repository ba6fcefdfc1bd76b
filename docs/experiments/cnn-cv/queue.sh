#!/bin/bash
# Every variant of the CNN cross-validation, one after another (about 7 minutes each on 2 cores).
# Run from the repository root after prep.py, at a commit whose featurizer has 12 features
# (before log_index/lead were added; cv.py's "abspos" appends those two itself).
run() { .venv/bin/python docs/experiments/cnn-cv/cv.py "$@" 2>&1 | grep --line-buffered -v "^I0000\|^W0000\|^E0000\|WARNING: All log" >> runs/exp/cv.log; }
run base ""
run abspos "abspos"
run rep16 "rep=16"
run abspos_listwise "abspos,loss=listwise"
run listwise "loss=listwise"
run graded "labeler=graded"
run abspos_graded "abspos,labeler=graded"
run base_s1 "seed=1"
run abspos_s1 "abspos,seed=1"
run listwise_s1 "loss=listwise,seed=1"
run abspos_listwise_s1 "abspos,loss=listwise,seed=1"
