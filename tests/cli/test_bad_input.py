"""Bad input, everywhere: every input in the table exits 2 with one line naming it, and changes no file.

Each row is (argv, pattern): the command line, run in-process through
``wavesim.cli.main``, and a regular expression that its one line on stderr
must match (the input, its value and what is allowed, in the words a user
reads). ``{name}`` in argv stands for a file of the ``inputs`` fixture.
"""

import hashlib
import json
import shutil
import traceback

import numpy as np
import pytest

from conftest import _small_store
from wavesim.cli import main

GEN = ["--backend", "cpu", "--no-progress", "--width-um", "200", "--warmup-s", "1", "--duration-s", "2"]
FIT = ["--out", "{root}/fit", "--trials", "1", "--retinas", "1", "--warmup-s", "1", "--duration-s", "5",
       "--backend", "cpu", "--no-progress"]
LIVE = ["--live", "--wave-model", "amacrine", "--updates", "1", "--batch-size", "2", "--retinas", "2", "--warmup-s", "1", "--size-px", "16",
        "--backend", "cpu", "--device", "cpu", "--out", "{root}/c.pt"]
CON = ["pretrain", "--task", "contrastive", "--updates", "1", "--device", "cpu", "--out", "{root}/c.pt"]
MOV = ["--frame-rate-hz", "10", "--um-per-pixel", "5"]
EVAL = ["--random-init", "next_frame", "--movies", "2", "--frames", "12", "--size-px", "16", "--device", "cpu",
        "--out", "{root}/eval"]


def _gen(*argv):
    return ["generate", "{root}/new.zarr", *GEN, *argv]


TABLE = [
    # the command line itself
    ([], r"the following arguments are required: command"),
    (["nosuch"], r"argument command: invalid choice: 'nosuch' \(choose from"),
    (["--nosuch"], r"unrecognized arguments: --nosuch|the following arguments are required"),
    (["generate"], r"the following arguments are required: store"),
    (["generate", "{root}/new.zarr", "--nosuch", "1"], r"unrecognized arguments: --nosuch 1"),
    # generate: sizes, times and counts
    (_gen("--movies", "0"), r"--movies|n_movies.*positive integer, got 0"),
    (_gen("--movies", "-3"), r"n_movies.*positive integer, got -3"),
    (_gen("--movies", "abc"), r"argument --movies: invalid int value: 'abc'"),
    (_gen("--movies", "1.5"), r"argument --movies: invalid int value: '1.5'"),
    (_gen("--movies", "2000000"), r"n_movies = 2,000,000 is more than one store holds \(1,000,000"),
    (_gen("--duration-s", "0"), r"duration_s = 0.0 s is outside the allowed range"),
    (_gen("--duration-s", "-1"), r"duration_s = -1.0 s is outside the allowed range"),
    (_gen("--duration-s", "nan"), r"duration_s must be finite, got nan"),
    (_gen("--duration-s", "inf"), r"duration_s must be finite, got inf"),
    (_gen("--duration-s", "1e12"), r"Timing.duration_s = 1000000000000.0 s is outside the allowed range"),
    (_gen("--duration-s", "0.1"), r"--duration-s 0.1 s is shorter than one frame \(--frame-period-s 0.5 s\)"),
    (_gen("--warmup-s", "-1"), r"warmup_s = -1.0 s is outside the allowed range"),
    (_gen("--warmup-s", "nan"), r"warmup_s must be finite, got nan"),
    (_gen("--width-um", "10"), r"width_um = 10.0 um is outside the allowed range"),
    (_gen("--width-um", "1e6"), r"needs about [\d.]+ GiB, but [\d.]+ GiB"),
    (_gen("--width-um", "-5"), r"width_um = -5.0 um is outside the allowed range"),
    (_gen("--height-um", "-5"), r"height_um = -5.0 um is outside the allowed range"),
    (_gen("--height-um", "inf"), r"height_um must be finite, got inf"),
    (_gen("--um-per-pixel", "300"), r"um_per_pixel = 300.0 is larger than the retina"),
    (_gen("--um-per-pixel", "0"), r"um_per_pixel = 0.0 um is outside the allowed range"),
    (_gen("--um-per-pixel", "-1"), r"um_per_pixel = -1.0 um is outside the allowed range"),
    (_gen("--um-per-pixel", "nan"), r"um_per_pixel must be finite, got nan"),
    (_gen("--frame-period-s", "0"), r"frame_period_s = 0.0 s is outside the allowed range"),
    (_gen("--frame-period-s", "-0.5"), r"frame_period_s = -0.5 s is outside the allowed range"),
    (_gen("--frame-period-s", "1e9"), r"Readout.frame_period_s = 1000000000.0 s is outside the allowed range"),
    (_gen("--readout", "foo"), r"argument --readout: invalid choice: 'foo' \(choose from 'binary', 'calcium', 'graded'\)"),
    (_gen("--readout", "calcium", "--calcium-tau-s", "-1"), r"calcium_tau_s = -1.0 s is outside the allowed range"),
    (_gen("--readout", "calcium", "--blur-um", "-5"), r"blur_um = -5.0 um is outside the allowed range"),
    (_gen("--blur-um", "40"), r"--blur-um 40 applies to --readout calcium only, not --readout binary"),
    (_gen("--calcium-tau-s", "2"), r"--calcium-tau-s 2 applies to --readout calcium only, not --readout binary"),
    (_gen("--shape", "hexagon"), r"argument --shape: invalid choice: 'hexagon' \(choose from 'rectangle', 'disc'\)"),
    (_gen("--backend", "tpu"), r"argument --backend: invalid choice: 'tpu'"),
    (_gen("--seed", "-1"), r"seed must be an integer in \[0, 2\*\*63\), got -1"),
    (_gen("--seed", str(2**63)), r"seed must be an integer in \[0, 2\*\*63\), got 9223372036854775808"),
    (_gen("--seed", "abc"), r"argument --seed: invalid int value: 'abc'"),
    (_gen("--movie-range", "3:1"), r"movie range '3:1' must satisfy"),
    (_gen("--movies", "4", "--movie-range", "0:10"), r"movie range '0:10' must satisfy 0 <= START < STOP <= 4"),
    (_gen("--movie-range", "abc"), r"movie range must look like START:STOP \(e.g. 0:50\), got 'abc'"),
    (_gen("--movie-range", "1"), r"movie range must look like START:STOP \(e.g. 0:50\), got '1'"),
    (_gen("--movie-range", "-1:2"), r"argument --movie-range: expected one argument \(a value that starts with '-' goes"),
    (_gen("--movie-range=-1:2"), r"movie range '-1:2' must satisfy"),
    (_gen("--batch-size", "0"), r"batch size must be a positive integer .*, got 0"),
    (_gen("--batch-size", "-2"), r"batch size must be a positive integer .*, got -2"),
    (_gen("--resume", "--overwrite"), r"resume and overwrite exclude each other"),
    (_gen("--repair"), r"pass --resume with --repair"),
    (["generate", "{root}/missing.zarr", *GEN, "--resume"], r"--resume: no store at .*missing.zarr to resume"),
    (["generate", "{store}", *GEN], r"already exists"),
    (["generate", "{txt}", *GEN], r"notes.txt (already )?exists"),
    (["generate", "{folder}", *GEN, "--overwrite"], r"is not a wavesim store; refusing to delete it"),
    (["generate", "{txt}/x.zarr", *GEN], r"cannot create .*notes.txt/x.zarr: .*notes.txt is a file, not a folder"),
    (["generate", "{store}", *GEN, "--resume"], r"store.zarr holds a different dataset \(parameters.P_s: store has 3 s, this run 32 s; .*timing.duration_s: store has 20 s, this run 2 s;"),
    # generate on a Dask cluster: nothing is written when the scheduler cannot be reached
    (_gen("--scheduler", "tcp://127.0.0.1:1", "--connect-timeout-s", "1"),
     r"cannot reach a Dask scheduler at 'tcp://127.0.0.1:1' within 1 s \(Timed out .*\); check the address"),
    (_gen("--scheduler", "nosuch://host:1", "--connect-timeout-s", "1"),
     r"cannot reach a Dask scheduler at 'nosuch://host:1' within 1 s \(unknown address scheme 'nosuch'"),
    (_gen("--scheduler", "tcp://127.0.0.1:1", "--connect-timeout-s", "0"),
     r"--connect-timeout-s must be a finite number of seconds > 0, got 0.0"),
    (_gen("--scheduler", "tcp://127.0.0.1:1", "--resume", "--overwrite"), r"resume and overwrite exclude each other"),
    (_gen("--workers", "0"), r"--workers must be a positive integer \(local worker processes\), got 0"),
    (_gen("--workers", "2", "--scheduler", "tcp://127.0.0.1:1"), r"argument --scheduler: not allowed with argument --workers"),
    (_gen("--connect-timeout-s", "5"), r"--connect-timeout-s applies to --scheduler only"),
    # --quiet drops notes, never the error
    (_gen("--movies", "0", "--quiet"), r"--movies|n_movies.*positive integer, got 0"),
    (_gen("-q", "--movies", "abc"), r"argument --movies: invalid int value: 'abc'"),
    (_gen("--quiet=yes"), r"argument -q/--quiet: ignored explicit argument 'yes'"),
    (["stats", "{rec}", "-q", "--figure", "{root}/s.xyz"], r"--figure .*s.xyz: the file type must be one of"),
    (["info", "{root}/missing.zarr", "--quiet"], r"No wavesim store at .*missing.zarr"),
    # generate: models and parameter files
    (_gen("--preset", "cat"), r"Unknown preset 'cat'"),
    (_gen("--model", "nosuch"), r"Unknown model 'nosuch'"),
    (_gen("--params", "{root}/missing.toml"), r"parameter file .*missing.toml does not exist"),
    (_gen("--params", "{folder}"), r"parameter file .* is a folder, not a TOML file"),
    (_gen("--params", "{bin}"), r"parameter file .* cannot be read as text"),
    (_gen("--params", "{toml_syntax}"), r"parameter file .* is not valid TOML"),
    (_gen("--params", "{toml_unknown}"), r"parameter file .*Unknown AmacrineParams parameter\(s\) \['Q'\]"),
    (_gen("--params", "{toml_range}"), r"parameter file .*P_s = -4.0 s is outside the allowed range"),
    (_gen("--params", "{toml_string}"), r"parameter file .*P_s must be a number in s, got 'fast'"),
    (_gen("--params", "{toml_model}"), r"parameter file .*Unknown model 'nosuch'"),
    (_gen("--params", "{toml_table}"), r"parameter file .*'parameters' must be a table"),
    (_gen("--params", "{toml_preset}"), r"parameter file .*Unknown preset 'cat'"),
    # the directional model
    (_gen("--model", "directional", "--preset", "may2026"), r"Unknown preset 'may2026' of model 'directional'"),
    (_gen("--params", "{toml_continuous}"), r"start_rate_hz must be > 0 in mode='continuous'"),
    (_gen("--params", "{toml_angles}"), r"angles must be one of \('wrapped', 'unwrapped'\), got 'sideways'"),
    (_gen("--params", "{toml_steps}"), r"tau_iei_s = 0.75 s is not a whole number of steps of dt_s = 0.5 s"),
    # info, verify, presets
    (["info", "{root}/missing.zarr"], r"No wavesim store at .*missing.zarr"),
    (["info", "{txt}"], r"notes.txt is not a zarr v3 group|notes.txt is not a wavesim store"),
    (["info", "{folder}"], r"folder is not a zarr v3 group|folder is not a wavesim store"),
    (["info", "{plain}"], r"plain.zarr is a zarr group but not a wavesim store"),
    (["info", "{store}/movies"], r"movies is not a zarr v3 group|is a zarr array, not a wavesim store"),
    (["info", "{v99}"], r"format version 99; this wavesim reads versions 1, 2"),
    (["info", "{badjson}"], r"badjson.zarr.*(not a zarr v3 group|cannot be read)"),
    (["info", "{badattrs}"], r"badattrs.zarr: the store's provenance cannot be read back"),
    (["info", "{store}", "--sample", "0"], r"--sample must be at least 1 movie, got 0"),
    (["info", "{store}", "--sample", "-1"], r"--sample must be at least 1 movie, got -1"),
    (["info", "{store}", "--sample", "x"], r"argument --sample: invalid int value: 'x'"),
    (["verify", "{root}/missing.zarr"], r"No wavesim store at .*missing.zarr"),
    (["verify", "{txt}"], r"notes.txt is not a zarr v3 group|notes.txt is not a wavesim store"),
    (["verify", "{plain}"], r"plain.zarr is a zarr group but not a wavesim store"),
    (["verify", "{v99}"], r"format version 99; this wavesim reads versions 1, 2"),
    (["presets", "--model", "nosuch"], r"Unknown model 'nosuch'"),
    # render
    (["render", "{store}", "--movie", "99", "--out", "{root}/m.gif"], r"movie 99 is outside .*, which holds movies 0 to 1"),
    (["render", "{store}", "--movie", "-1", "--out", "{root}/m.gif"], r"movie -1 is outside .*, which holds movies 0 to 1"),
    (["render", "{store}", "--movie", "abc"], r"argument --movie: invalid int value: 'abc'"),
    (["render", "{unfinished}", "--movie", "1", "--out", "{root}/m.gif"], r"movie 1 of .* is not completely written"),
    (["render", "{store}", "--start-s", "-10", "--out", "{root}/m.gif"], r"start_s must be a finite number of seconds >= 0, got -10.0"),
    (["render", "{store}", "--start-s", "1e9", "--out", "{root}/m.gif"], r"start_s = 1e\+09 s is at or past the end of movie 0"),
    (["render", "{store}", "--start-s", "nan", "--out", "{root}/m.gif"], r"start_s must be a finite number of seconds >= 0, got nan"),
    (["render", "{store}", "--duration-s", "0", "--out", "{root}/m.gif"], r"duration_s must be a finite number > 0, got 0.0"),
    (["render", "{store}", "--duration-s", "-5", "--out", "{root}/m.gif"], r"duration_s must be a finite number > 0, got -5.0"),
    (["render", "{store}", "--duration-s", "nan", "--out", "{root}/m.gif"], r"duration_s must be a finite number > 0, got nan"),
    (["render", "{store}", "--fps", "0", "--out", "{root}/m.gif"], r"fps must be a finite number > 0, got 0.0"),
    (["render", "{store}", "--fps", "-1", "--out", "{root}/m.gif"], r"fps must be a finite number > 0, got -1.0"),
    (["render", "{store}", "--fps", "inf", "--out", "{root}/m.gif"], r"fps must be a finite number > 0, got inf"),
    (["render", "{store}", "--out", "{root}/m.png"], r"path must end in .gif or .mp4, got '.*m.png'"),
    (["render", "{store}", "--out", "{txt}/m.gif"], r"cannot write --out .*notes.txt/m.gif: .*notes.txt is a file"),
    (["render", "{store}", "--out", "{dir_gif}"], r"--out .*dir.gif is a folder; give the path of a file"),
    (["render", "{root}/missing.zarr"], r"No wavesim store at .*missing.zarr"),
    (["render", "{txt}"], r"notes.txt is not a zarr v3 group|notes.txt is not a wavesim store"),
    # stats and compare
    (["stats", "{root}/missing.npy"], r"missing.npy does not exist"),
    (["stats", "{txt}"], r"notes.txt is not an input wavesim analyses"),
    (["stats", "{folder}"], r"folder is not an input wavesim analyses"),
    (["stats", "{bin}"], r"b.toml is not an input wavesim analyses"),
    (["stats", "{npy}"], r"a movie file needs --um-per-pixel and --frame-period-s"),
    (["stats", "{npy}", "--um-per-pixel", "0", "--frame-period-s", "0.5"], r"um_per_pixel must be a finite number > 0, got 0.0"),
    (["stats", "{npy}", "--um-per-pixel", "50", "--frame-period-s", "-1"], r"frame_period_s must be a finite number > 0, got -1.0"),
    (["stats", "{npy1d}", "--um-per-pixel", "50", "--frame-period-s", "0.5"], r"movie1d.npy: movie must have shape \(T, H, W\), got \(20,\)"),
    (["stats", "{fake_h5}"], r"fake.h5: not a readable HDF5 file"),
    (["stats", "{other_h5}"], r"other.h5.*(missing|not a recording|spikes)"),
    (["stats", "{rec}", "--min-size-fraction", "2"], r"min_size_fraction = 2.0 is outside the allowed range \[0.0, 1.0\]"),
    (["stats", "{rec}", "--min-size-fraction", "-0.1"], r"min_size_fraction = -0.1 is outside the allowed range"),
    (["stats", "{rec}", "--ci-window-s", "0"], r"ci_window_s = 0.0 s is outside the allowed range"),
    (["stats", "{rec}", "--sttc-window-s", "-1"], r"sttc_window_s = -1.0 s is outside the allowed range"),
    (["stats", "{rec}", "--max-onset-lag-s", "0"], r"max_onset_lag_s = 0.0 s is outside the allowed range"),
    (["stats", "{rec}", "--neighbour-radius-um", "0"], r"neighbour_radius_um = 0.0 um is outside the allowed range"),
    (["stats", "{rec}", "--threshold", "nan"], r"activity_threshold must be finite, got nan"),
    (["stats", "{rec}", "--seed", "-1"], r"seed = -1 is outside the allowed range"),
    (["stats", "{rec}", "--ci-window-s", "abc"], r"argument --ci-window-s: invalid float value: 'abc'"),
    (["stats", "{rec}", "--figure", "{root}/s.xyz"], r"--figure .*s.xyz: the file type must be one of .*png.*got '.xyz'"),
    (["stats", "{rec}", "--json", "{txt}/s.json"], r"cannot write --json .*notes.txt/s.json: .*notes.txt is a file"),
    (["stats", "{rec}", "--figure", "{txt}/s.png"], r"cannot write --figure .*notes.txt/s.png: .*notes.txt is a file"),
    (["stats", "{rec}", "--json", "{folder}"], r"--json .*folder is a folder; give the path of a file"),
    # stats: wave tables, electrode exports
    (["stats", "{rec}", "--write"], r"--write writes wave tables into a wavesim store; .*rec.h5 is not one"),
    (["stats", "{npy}", "--um-per-pixel", "50", "--frame-period-s", "0.5", "--write"], r"--write writes wave tables into a wavesim store; .*movie.npy is not one"),
    (["stats", "{root}/missing.zarr", "--write"], r"--write writes wave tables into a wavesim store; .*missing.zarr is not one"),
    (["stats", "{unfinished}", "--write", "--min-size-fraction", "2"], r"min_size_fraction = 2.0 is outside the allowed range"),
    (["stats", "{store}", "--rows", "3"], r"--rows applies with --export-electrodes only"),
    (["stats", "{store}", "--pitch-um", "50"], r"--pitch-um applies with --export-electrodes only"),
    (["stats", "{store}", "--export-electrodes", "{root}/e-{{movie}}.h5", "--rows", "0"], r"--rows must be at least 1 electrode, got 0"),
    (["stats", "{store}", "--export-electrodes", "{root}/e-{{movie}}.h5", "--cols", "-2"], r"--cols must be at least 1 electrode, got -2"),
    (["stats", "{store}", "--export-electrodes", "{root}/e-{{movie}}.h5", "--rows", "abc"], r"argument --rows: invalid int value: 'abc'"),
    (["stats", "{store}", "--export-electrodes", "{root}/e-{{movie}}.h5", "--pitch-um", "0"], r"--pitch-um must be a finite number of um in \[1, 1e\+06\], got 0"),
    (["stats", "{store}", "--export-electrodes", "{root}/e-{{movie}}.h5", "--pitch-um", "nan"], r"--pitch-um must be a finite number of um .*got nan"),
    (["stats", "{store}", "--export-electrodes", "{root}/e-{{movie}}.h5", "--pitch-um", "400"], r"a grid of 8 rows x 8 columns of electrodes 400 um apart spans 2800 um in x and 2800 um in y, more than the movie's pixel centres \(950 um in x, 750 um in y\)"),
    (["stats", "{store}", "--export-electrodes", "{root}/e.h5"], r"--export-electrodes .*e.h5: .*store.zarr holds 2 complete movies; put \{movie\} in the file name \(e.g. e-\{movie\}.h5\)"),
    (["stats", "{store}", "--export-electrodes", "{root}/e-{{movie}}.csv"], r"--export-electrodes .*e-0.csv: the file type must be one of h5, hdf5, nwb, got '.csv'"),
    (["stats", "{store}", "--export-electrodes", "{txt}/e-{{movie}}.h5"], r"cannot write --export-electrodes .*notes.txt/e-0.h5: .*notes.txt is a file"),
    (["stats", "{store}", "--export-electrodes", "{folder}"], r"--export-electrodes .*folder is a folder; give the path of a file"),
    (["stats", "{rec}", "--export-electrodes", "{root}/r.h5", "--rows", "4"], r"--rows applies to movies and stores; the MEA recording .*rec.h5 is exported with its own electrodes"),
    (["stats", "{npy}", "--um-per-pixel", "50", "--frame-period-s", "0.5", "--export-electrodes", "{root}/m.h5"], r"a grid of 8 rows x 8 columns of electrodes 100 um apart spans 700 um in x and 700 um in y, more than the movie's pixel centres \(350 um in x, 350 um in y\)"),
    (["stats", "{store}", "--rate-hz", "0"], r"virtual_rate_hz = 0.0 1/s is outside the allowed range"),
    (["stats", "{store}", "--rate-hz", "-5", "--export-electrodes", "{root}/e-{{movie}}.h5"], r"virtual_rate_hz = -5.0 1/s is outside the allowed range"),
    (["stats", "{v99}", "--write"], r"format version 99; this wavesim reads versions 1, 2"),
    (["compare", "{rec}"], r"give at least two inputs to compare"),
    (["compare", "{rec}", "{root}/missing.h5"], r"missing.h5: no such recording file"),
    # fit
    (["fit", "{rec}", *FIT[:3], "0", *FIT[4:]], r"--trials must be at least 1, got 0"),
    (["fit", "{rec}", *FIT, "--batch-size", "0"], r"batch.* at least 1.*got 0|batch size must be a positive integer"),
    (["fit", "{rec}", *FIT, "--retinas", "0"], r"n_retinas = 0 is outside the allowed range|--retinas must be at least 1"),
    (["fit", "{rec}", *FIT, "--range", "P_s=10"], r"--range P_s=10: give LOW:HIGH"),
    (["fit", "{rec}", *FIT, "--storage", "sqlite:////nonexistent-folder/study.db"], r"--storage sqlite:.*cannot open the database"),
    (["fit", "{rec}", *FIT, "--storage", "nosuchdb://host/study"], r"--storage nosuchdb://host/study: cannot open the database"),
    (["fit", "{rec}", *FIT, "--range", "P_s=a:b"], r"--range P_s=a:b: give LOW:HIGH as numbers"),
    (["fit", "{rec}", *FIT, "--range", "nosuch=1:2"], r"Unknown AmacrineParams parameter(\(s\))? \[?'nosuch'\]? (in ranges|to fit); known ones are"),
    (["fit", "{rec}", *FIT, "--range", "P_s=100:10"], r"the range of AmacrineParams.P_s has low 100.0 > high 10.0"),
    (["fit", "{rec}", *FIT, "--range", "P_s=0:1e9"], r"AmacrineParams.P_s = 0.0 s is outside the allowed range"),
    (["fit", "{rec}", *FIT, "--range", "P_s"], r"--range must look like NAME=VALUE, got 'P_s'"),
    (["fit", "{rec}", *FIT, "--weight", "ci=abc"], r"--weight ci=abc: the weight must be a number"),
    (["fit", "{rec}", *FIT, "--weight", "nosuch=1"], r"Unknown objective term\(s\) \['nosuch'\] in weights; known terms"),
    (["fit", "{rec}", *FIT, "--weight", "ci=-1"], r"the weight of term 'ci' must be finite and >= 0, got -1.0"),
    (["fit", "{rec}", *FIT, "--fit", "nosuch"], r"Unknown AmacrineParams parameter\(s\) \['nosuch'\] to fit; known ones are"),
    (["fit", "{rec}", *FIT, "--sampler", "foo"], r"argument --sampler: invalid choice: 'foo'"),
    (["fit", "{root}/missing.h5", *FIT], r"missing.h5: no such recording file"),
    (["fit", "{rec}", "{rec}", *FIT], r"recording\(s\) \['\w+'\] given more than once; pool each recording once"),
    (["fit", "{rec}", *FIT, "--hold-out", "{rec}"], r"recording\(s\) \['\w+'\] are both fitted and held out"),
    (["fit", "{rec}", *FIT, "--hold-out", "{root}/missing.h5"], r"missing.h5: no such recording file"),
    (["fit", "{rec}", *FIT, "--burst-decay-s", "0"], r"burst_decay_s = 0.0 s is outside the allowed range"),
    (["fit", "{rec}", *FIT, "--burst-rate-hz", "-1"], r"burst_rate_hz = -1.0 1/s is outside the allowed range"),
    (["fit", "{rec}", *FIT, "--electrodes", "gauss"], r"argument --electrodes: invalid choice: 'gauss'"),
    (["fit", "{rec}", *FIT, "--sync-length-um", "0"], r"sync_length_um = 0.0 um is outside the allowed range"),
    (["fit", "{rec}", *FIT, "--sync-time-s", "-1"], r"sync_time_s = -1.0 s is outside the allowed range"),
    (["fit", "{rec}", *FIT, "--sync-gain-variance", "1e9"], r"sync_gain_variance = 1000000000.0 is outside"),
    (["fit", "{rec}", *FIT, "--pruning", "hyperband"], r"argument --pruning: invalid choice: 'hyperband'"),
    (["fit", "{rec}", *FIT, "--workers", "0"], r"--workers must be at least 1, got 0"),
    (["fit", "{txt}", *FIT], r"notes.txt: not a readable HDF5 file"),
    (["fit", "{rec}", *FIT, "--duration-s", "-5"], r"duration_s = -5.0 s is outside the allowed range"),
    (["fit", "{rec}", *FIT, "--um-per-pixel", "0"], r"um_per_pixel = 0.0 um is outside the allowed range"),
    (["fit", "{rec}", *FIT, "--frame-period-s", "0"], r"frame_period_s = 0.0 s is outside the allowed range"),
    (["fit", "{rec}", *FIT, "--min-waves", "0"], r"min_recorded_waves = 0 is outside the allowed range|--min-waves"),
    (["fit", "{rec}", *FIT, "--margin-um", "-1"], r"margin_um = -1.0 um is outside the allowed range"),
    (["fit", "{rec}", *FIT, "--warmup-s", "-1"], r"warmup_s = -1.0 s is outside the allowed range"),
    (["fit", "{rec}", *FIT, "--preset", "cat"], r"Unknown preset 'cat'"),
    (["fit", "{rec}", *FIT, "--params", "{toml_range}"], r"parameter file .*P_s = -4.0 s is outside the allowed range"),
    (["fit", "{rec}", *FIT[2:], "--out", "{txt}"], r"--out .*notes.txt is a file; give a folder"),
    (["fit", "{rec}", *FIT[2:], "--out", "{txt}/fit"], r"cannot make --out .*notes.txt/fit: .*notes.txt is a file"),
    # pretrain and evaluate
    (["pretrain", "--updates", "1", "--out", "{root}/c.pt"], r"--updates pre-training streams its waves: give --store PATH \[PATH ...\] or --live"),
    (["pretrain", *LIVE, "--updates", "0"], r"--updates must be at least 1 \(Adam steps\), got 0"),
    (["pretrain", *LIVE, "--device", "tpu"], r"device must be 'auto'"),
    (["pretrain", "--store", "{root}/missing.zarr", "--updates", "1", "--out", "{root}/c.pt"], r"No wavesim store at .*missing.zarr"),
    (["pretrain", "--store", "{txt}", "--updates", "1", "--out", "{root}/c.pt"], r"notes.txt is not a zarr v3 group|notes.txt is not a wavesim store"),
    (["pretrain", *LIVE, "--batch-size", "0"], r"TrainSettings.batch_size = 0 is outside the allowed range \[1, 1000000\]"),
    (["pretrain", *LIVE, "--lr", "-1"], r"TrainSettings.learning_rate = -1.0 is outside the allowed range"),
    (["pretrain", *LIVE, "--lr", "nan"], r"learning_rate must be finite, got nan"),
    (["pretrain", *LIVE, "--size-px", "0"], r"WaveSource.size_px = 0 px is outside the allowed range \[4, 4096\] px"),
    (["pretrain", *LIVE, "--hidden-channels", "0"], r"hidden_channels must be a positive integer, got 0"),
    (["pretrain", *LIVE, "--task", "contrastive"], r"contrastive pre-training needs a store"),
    (["pretrain", *LIVE, "--warmup-s", "-1"], r"warmup_s = -1.0 s is outside the allowed range"),
    (["pretrain", *LIVE, "--backend", "tpu"], r"backend must be one of \('auto', 'cpu', 'cpu-events', 'cuda'\), got 'tpu'"),
    (["pretrain", *LIVE, "--retinas", "0"], r"--retinas must be at least 1, got 0"),
    (["pretrain", "--live", "--updates", "1", "--out", "{root}/c.pt"], r"start one wave per movie \(mode='wave'\); use mode='continuous'"),
    (["pretrain", *LIVE[:-1], "{txt}/c.pt"], r"cannot write --out .*notes.txt/c.pt: .*notes.txt is a file"),
    (["pretrain", *LIVE[:-1], "{folder}"], r"--out .*folder is a folder; give the path of a file"),
    (["pretrain", *LIVE, "--cell", "transformer"], r"argument --cell: invalid choice: 'transformer'"),
    (CON, r"contrastive pre-training needs a store \(--store\) or a movie of your own \(--movie\)"),
    ([*CON, "--movie", "{root}/missing.npy", *MOV], r"missing.npy: no such movie file"),
    ([*CON, "--movie", "{npy}"], r"a --movie needs its frame rate and pixel size: --frame-rate-hz HZ --um-per-pixel UM"),
    ([*CON, "--movie", "{npy}", "--frame-rate-hz", "0", "--um-per-pixel", "5"],
     r"frame_rate_hz must be a finite number > 0, got 0.0"),
    ([*CON, "--movie", "{npy}", "--frame-rate-hz", "10", "--um-per-pixel", "nan"],
     r"um_per_pixel must be a finite number > 0, got nan"),
    ([*CON, "--movie", "{npy}", *MOV, "--train-um-per-pixel", "-5"],
     r"train_um_per_pixel must be a finite number > 0, got -5.0"),
    ([*CON, "--movie", "{npy1d}", *MOV], r"movie1d.npy: movie must have shape \(T, H, W\), got \(20,\)"),
    ([*CON, "--movie", "{npy}", *MOV], r"movie movie.npy is constant .*; it shows no waves"),
    ([*CON, "--movie", "{txt}", *MOV], r"notes.txt: unknown movie format '.txt'"),
    ([*CON, "--movie", "{npy_dot}", *MOV], r"no wave with two frames at most 2 apart in the complete movies of dot.npy"),
    ([*CON, "--movie", "{npy_dot}", *MOV, "--train-frame-rate-hz", "0.1"],
     r"the movie of 20 frames keeps 0; give a higher train_frame_rate_hz or a longer movie"),
    ([*CON, "--movie", "{npy}", "--store", "{store}", *MOV], r"give --store or --movie, not both"),
    ([*CON, "--store", "{store}", "--frame-rate-hz", "10"], r"describe a --movie; give the movie too"),
    ([*CON, "--store", "{store}", "--config", "simclr"], r"argument --config: invalid choice: 'simclr'"),
    ([*CON, "--store", "{store}", "--encoder", "resnet7"], r"argument --encoder: invalid choice: 'resnet7'"),
    ([*CON, "--store", "{store}", "--projector-dims", "8192-x"],
     r"ContrastiveConfig.projector_dims must be widths such as '8192-8192-8192' or \(512, 128\), got '8192-x'"),
    ([*CON, "--store", "{store}", "--frame-separation", "0"],
     r"ContrastiveConfig.frame_separation_frames = 0 frames is outside the allowed range \[1, 1000000\]"),
    (["pretrain", "--task", "contrastive", "--store", "{store}", "--epochs", "0", "--out", "{root}/c.pt"],
     r"ContrastiveConfig.epochs = 0 is outside the allowed range \[1, 1000000\]"),
    (["pretrain", "--task", "contrastive", "--store", "{store}", "--out", "{root}/c.pt"],
     r"contrastive pre-training with --config default runs a fixed number of steps: give --updates N"),
    ([*CON, "--store", "{store}", "--batch-size", "1"],
     r"ContrastiveConfig.batch_size = 1 is outside the allowed range \[2, 1000000\]"),
    ([*CON, "--store", "{store}", "--lr", "-1"], r"ContrastiveConfig.learning_rate = -1.0 is outside the allowed range"),
    ([*CON, "--store", "{store}", "--config", "ligeralde2023", "--encoder", "resnet9", "--batch-size", "64"],
     r"the \d+ waves found make no batch of 64 pairs per rank; lower --batch-size or give more movies"),
    (["pretrain", *LIVE, "--config", "ligeralde2023"], r"--config set\(s\) contrastive pre-training: add --task contrastive"),
    (["evaluate", "{txt}", "--config", "ligeralde2023", "--out", "{root}/eval"],
     r"--config, --encoder and --stem build a --random-init network; a checkpoint carries its own"),
    (["evaluate", *EVAL, "--encoder", "resnet50"], r"--config, --encoder and --stem choose a contrastive network: use --random-init"),
    ([*CON, "--store", "{store}", "--config", "ligeralde2023", "--stem", "imagenet"],
     r"ContrastiveConfig.stem = 'imagenet': the ResNet-9 has its own stem; use stem='default' with encoder='resnet9'"),
    (["evaluate", "{root}/missing.pt", "--out", "{root}/eval"], r"No checkpoint at .*missing.pt"),
    (["evaluate", "{txt}", "--out", "{root}/eval"], r"is not a wavesim checkpoint that loads safely"),
    (["evaluate", "--out", "{root}/eval"], r"give a checkpoint, or --random-init TASK, but not both"),
    (["evaluate", "{txt}", *EVAL], r"give a checkpoint, or --random-init TASK, but not both"),
    (["evaluate", *EVAL, "--epochs", "0"], r"--epochs must be at least 1, got 0"),
    (["evaluate", *EVAL, "--movies", "0"], r"n_movies must be an integer >= 1, got 0"),
    (["evaluate", *EVAL, "--frames", "0"], r"n_frames must be an integer >= 1, got 0"),
    (["evaluate", *EVAL, "--target", "nosuch"], r"--target must be one of \('corridor', 'natural'\), a .npy video or a folder of frames; nosuch does not exist"),
    (["evaluate", *EVAL, "--target", "{root}/missing.npy"], r"missing.npy does not exist"),
    # reproduce
    (["reproduce", "nosuch"], r"argument PAPER: invalid choice: 'nosuch'"),
    (["reproduce", "may2025", "--out", "{root}/may", "--set", "nosuch=1"], r"--set takes NAME=VALUE with NAME one of"),
    (["reproduce", "may2025", "--out", "{root}/may", "--set", "repetitions=0"],
     r"MayConfig.repetitions = 0 is outside the allowed range \[1, 100\]"),
    (["reproduce", "may2025", "--out", "{root}/may", "--set", "fold_clips=201"],
     r"fold_clips \(201\) must be a multiple of clips_per_segment x n_folds \(5 x 5\)"),
    (["reproduce", "may2025", "--out", "{root}/may", "--max-minutes", "0"], r"--max-minutes must be > 0, got 0.0"),
    (["reproduce", "may2025", "--out", "{npy}"], r"--out .*movie.npy is a file; give a folder"),
    (["reproduce", "may2025", "--out", "{root}/may", "--target-movie", "{root}/missing.npy"],
     r"--target-movie .*missing.npy does not exist"),
    (["reproduce", "may2025", "--out", "{root}/may", "--target-movie", "{npy}"],
     r"no movie holds one segment of 5 clips of 11 frames \(55 frames\)"),
    (["reproduce", "may2025", "--out", "{root}/may", "--train-frame-rate-hz", "2"],
     r"--movie-frame-rate-hz and --train-frame-rate-hz describe a --target-movie; give the movie too"),
    (["evaluate", *EVAL, "--batch-size", "0"], r"TrainSettings.batch_size = 0 is outside the allowed range"),
    (["evaluate", *EVAL, "--device", "tpu"], r"device must be 'auto'"),
    (["evaluate", *EVAL[:-1], "{txt}"], r"--out .*notes.txt is a file; give a folder"),
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """``{name: path}`` of the files the table refers to, all under ``root``."""
    import h5py
    import zarr

    root = tmp_path_factory.mktemp("bad_input")
    store, _ = _small_store(root / "store.zarr", 2)
    unfinished, _ = _small_store(root / "unfinished.zarr", 2, movies=[0])
    paths = {"root": root, "store": store, "unfinished": unfinished}
    paths["txt"] = root / "notes.txt"
    paths["txt"].write_text("not a movie\n")
    paths["folder"] = root / "folder"
    paths["folder"].mkdir()
    (paths["folder"] / "readme.txt").write_text("someone's notes\n")
    paths["dir_gif"] = root / "dir.gif"
    paths["dir_gif"].mkdir()
    paths["bin"] = root / "b.toml"
    paths["bin"].write_bytes(b"\x00\xff\xfe\x01 not text")
    paths["npy"] = root / "movie.npy"
    np.save(paths["npy"], np.zeros((20, 8, 8), np.uint8))
    paths["npy_dot"] = root / "dot.npy"
    dot = np.zeros((20, 8, 8), np.float32)
    dot[:, 3, 4] = 1  # one pixel always on: too small to be a wave
    np.save(paths["npy_dot"], dot)
    paths["npy1d"] = root / "movie1d.npy"
    np.save(paths["npy1d"], np.zeros(20, np.uint8))
    paths["fake_h5"] = root / "fake.h5"
    paths["fake_h5"].write_text("not hdf5\n")
    paths["other_h5"] = root / "other.h5"
    with h5py.File(paths["other_h5"], "w") as h5:
        h5["weights"] = np.arange(5.0)
    paths["rec"] = root / "rec.h5"
    from pathlib import Path

    shutil.copy(Path(__file__).parents[2] / "datasets" / "recordings" / "Kirkby2013_02_WT_P5.h5", paths["rec"])
    paths["plain"] = root / "plain.zarr"
    zarr.open_group(str(paths["plain"]), mode="w")
    for name, change in (("v99", lambda d: d["attributes"].update(format_version=99)),
                         ("badattrs", lambda d: d["attributes"].update(parameters={"a": 1, "b": 2}))):
        paths[name] = root / f"{name}.zarr"
        shutil.copytree(store, paths[name])
        meta = json.loads((paths[name] / "zarr.json").read_text())
        change(meta)
        (paths[name] / "zarr.json").write_text(json.dumps(meta))
    paths["badjson"] = root / "badjson.zarr"
    shutil.copytree(store, paths["badjson"])
    (paths["badjson"] / "zarr.json").write_text("{ not json")
    for name, text in {
        "toml_syntax": "model = \n",
        "toml_unknown": "[parameters]\nQ = 1.0\n",
        "toml_range": "[parameters]\nP_s = -4.0\n",
        "toml_string": "[parameters]\nP_s = 'fast'\n",
        "toml_model": "model = 'nosuch'\n",
        "toml_table": "parameters = 3\n",
        "toml_preset": "preset = 'cat'\n",
        "toml_continuous": "model = 'directional'\n[parameters]\nmode = 'continuous'\n",
        "toml_angles": "model = 'directional'\n[parameters]\nangles = 'sideways'\n",
        "toml_steps": "model = 'directional'\n[parameters]\ntau_iei_s = 0.75\n",
    }.items():
        paths[name] = root / f"{name}.toml"
        paths[name].write_text(text)
    return paths


def _snapshot(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(root.rglob("*"))}


def run_case(argv, pattern, inputs, capsys, monkeypatch):
    """Run one row; return (verdict, stderr): clear, unclear, traceback or silent (exit 0 or files changed)."""
    import re

    argv = [a.format(**inputs) for a in argv]
    monkeypatch.chdir(inputs["root"])
    before = _snapshot(inputs["root"])
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    except BaseException:  # noqa: BLE001 -- a traceback is what this census counts
        return "traceback", traceback.format_exc().splitlines()[-1]
    err = capsys.readouterr().err
    changed = _snapshot(inputs["root"]) != before
    if changed:
        for path in sorted(set(_snapshot(inputs["root"])) - set(before), reverse=True):
            target = inputs["root"] / path
            shutil.rmtree(target) if target.is_dir() else target.unlink()
    if code != 2 or changed:
        return "silent", f"exit {code}{', files changed' if changed else ''}: {err.strip()[-300:]}"
    lines = err.strip().splitlines()
    if "Traceback" in err:
        return "traceback", err
    if len(lines) != 1 or not re.search(pattern, lines[0]):
        return "unclear", err
    return "clear", err


@pytest.mark.parametrize("argv, pattern", TABLE, ids=[f"{i:03d} " + " ".join(a[:2]) for i, (a, _) in enumerate(TABLE)])
def test_bad_input_is_one_clear_line_exit_2_and_changes_no_file(argv, pattern, inputs, capsys, monkeypatch):
    verdict, err = run_case(argv, pattern, inputs, capsys, monkeypatch)
    assert verdict == "clear", f"{verdict}: {err}"


# Under torchrun: (environment, argv, pattern); each fails on its rank before the ranks meet, so one process shows it.
STORE_UPDATES = ["pretrain", "--store", "{store}", "--updates", "1", "--size-px", "16", "--hidden-channels", "2",
                 "--device", "cpu", "--out", "{root}/c.pt"]
TORCHRUN = [
    ({"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}, STORE_UPDATES,
     r"6 items do not divide evenly over 4 ranks \(remainder='error'\): 2 would be left out or repeated"),
    ({"RANK": "0", "WORLD_SIZE": "4", "LOCAL_RANK": "0"}, [*STORE_UPDATES, "--task", "contrastive"],
     r"items do not divide evenly over 4 ranks"),
    ({"RANK": "0"}, STORE_UPDATES, r"the environment sets RANK but not WORLD_SIZE, LOCAL_RANK; start distributed"),
    ({"RANK": "0", "WORLD_SIZE": "two", "LOCAL_RANK": "0"}, STORE_UPDATES, r"must be integers, got RANK='0', WORLD_SIZE='two'"),
    ({"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0"}, [*STORE_UPDATES, "--remainder", "none"],
     r"argument --remainder: invalid choice: 'none'"),
]


@pytest.mark.parametrize("environ, argv, pattern", TORCHRUN, ids=[f"torchrun {i}" for i in range(len(TORCHRUN))])
def test_bad_input_under_torchrun_is_one_clear_line(environ, argv, pattern, inputs, capsys, monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    verdict, err = run_case(argv, pattern, inputs, capsys, monkeypatch)
    assert verdict == "clear", f"{verdict}: {err}"


def test_the_table_is_long_enough():
    assert len(TABLE) >= 100
