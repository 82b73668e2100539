#!/bin/sh
# Example Slurm batch script: the paper-sized study on a cluster (README "Past one machine:
# Open MPI"). Submit from the repository on storage every node sees (the datasets, runs and
# study folder are read and written there by every rank):
#     make MPI=1 && sbatch tools/slurm-study.sh
# Each training runs data-parallel over the job's ranks (one rank per node, its cores as
# threads), the transfer experiment hands its runs to the ranks one at a time, and the rest
# runs on one. The study resumes where it stopped: submit it again after a time limit.
#SBATCH --job-name=reusenet-study
#SBATCH --nodes=4
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=16
#SBATCH --time=24:00:00
#SBATCH --output=reusenet-study-%j.log
set -eu
# srun starts the ranks (Slurm's PMIx plugin); `mpirun -np $SLURM_NTASKS` works as well
# with an Open MPI built with Slurm support.
export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
export MPIRUN="srun --ntasks=${SLURM_NTASKS:-1} --cpus-per-task=${SLURM_CPUS_PER_TASK:-1}"
export BIN=build-mpi/reusenet
export STUDY_DIR=${STUDY_DIR:-build/study}
sh tools/reproduce.sh
