// SPDX-License-Identifier: MIT
/*
 * Many commands in flight at once: PROCS processes, each with THREADS
 * threads sharing one library handle, every thread sending one GetRandom
 * of its own length at the same moment. All must complete with success
 * and exactly the requested length, without a timeout or reset.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gt_harness.h"

#include "azihsm/azihsm.h"
#include "azihsm/msg.h"
#include "guest_util.h"

#define PROCS	4
#define THREADS	50

struct worker {
	struct azihsm_dev *dev;
	pthread_barrier_t *start;
	int index;
	int result;		/* 0 ok, else a negative errno or -1000 */
};

/* A different length per command, 1..AZIHSM_RANDOM_MAX. */
static size_t length_for(int index)
{
	return 1 + ((size_t)index * 997) % AZIHSM_RANDOM_MAX;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	size_t len = length_for(w->index);
	uint8_t buf[AZIHSM_RANDOM_MAX + 16];
	size_t i;

	memset(buf, 0xa5, sizeof(buf));
	pthread_barrier_wait(w->start);
	w->result = azihsm_random(w->dev, buf, len);
	/* The tail past len must be untouched. */
	for (i = len; !w->result && i < sizeof(buf); i++)
		if (buf[i] != 0xa5)
			w->result = -1000;
	return NULL;
}

/* One process: returns the number of failed commands (0..THREADS). */
static int run_process(int proc)
{
	struct worker w[THREADS];
	pthread_t tid[THREADS];
	pthread_barrier_t start;
	struct azihsm_dev *dev;
	int i, failed = 0;

	if (azihsm_open(GT_DEV, &dev))
		return THREADS;
	pthread_barrier_init(&start, NULL, THREADS);
	for (i = 0; i < THREADS; i++) {
		w[i] = (struct worker){
			.dev = dev, .start = &start,
			.index = proc * THREADS + i, .result = -1,
		};
		if (pthread_create(&tid[i], NULL, worker_main, &w[i]))
			return THREADS;
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(tid[i], NULL);
		if (w[i].result) {
			fprintf(stderr, "# proc %d thread %d (len %zu): %d\n",
				proc, i, length_for(w[i].index), w[i].result);
			failed++;
		}
	}
	pthread_barrier_destroy(&start);
	azihsm_close(dev);
	return failed;
}

FIXTURE(load) {
	uint64_t timed_out, resets, completed;
};

FIXTURE_SETUP(load)
{
	ASSERT_EQ(0, gt_sysfs_u64("cmds_timed_out", &self->timed_out));
	ASSERT_EQ(0, gt_sysfs_u64("resets", &self->resets));
	ASSERT_EQ(0, gt_sysfs_u64("cmds_completed", &self->completed));
}

FIXTURE_TEARDOWN(load)
{
}

/* TCG runs 200 commands slowly; the default 30 s is too tight. */
TEST_F_TIMEOUT(load, many_processes_and_threads, 300)
{
	uint64_t timed_out, resets, completed;
	pid_t pid[PROCS];
	int i, status, failed = 0;

	for (i = 0; i < PROCS; i++) {
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0)
			_exit(run_process(i));
	}
	for (i = 0; i < PROCS; i++) {
		ASSERT_EQ(pid[i], waitpid(pid[i], &status, 0));
		ASSERT_TRUE(WIFEXITED(status));
		failed += WEXITSTATUS(status);
	}
	EXPECT_EQ(0, failed) TH_LOG("%d of %d commands failed", failed, PROCS * THREADS);

	ASSERT_EQ(0, gt_sysfs_u64("cmds_timed_out", &timed_out));
	ASSERT_EQ(0, gt_sysfs_u64("resets", &resets));
	ASSERT_EQ(0, gt_sysfs_u64("cmds_completed", &completed));
	EXPECT_EQ(self->timed_out, timed_out);
	EXPECT_EQ(self->resets, resets);
	EXPECT_LE(self->completed + PROCS * THREADS, completed);
}

TEST_HARNESS_MAIN
