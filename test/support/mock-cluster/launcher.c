/*
 * Starts librdkafka's in-process mock Kafka cluster so tests can talk the real
 * Kafka wire protocol on loopback without Docker or a JVM broker.
 *
 * Usage: launcher [brokers] [topic:partitions ...]
 *   e.g. launcher 1 in-a:3 in-b:3 out:1
 *
 * Prints exactly one line "BOOTSTRAP host:port[,host:port...]" on stdout once
 * the topics exist, then serves until stdin reaches EOF or SIGTERM/SIGINT
 * arrives. Watching stdin means the cluster dies with its parent even if the
 * parent is killed without a chance to signal us.
 */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig) {
        (void)sig;
        stop_requested = 1;
}

static int parse_int(const char *s, int min, const char *what) {
        char *end = NULL;
        long v    = strtol(s, &end, 10);
        if (end == s || *end != '\0' || v < min || v > 1000) {
                fprintf(stderr, "launcher: invalid %s: '%s'\n", what, s);
                exit(2);
        }
        return (int)v;
}

int main(int argc, char **argv) {
        char errstr[512];
        int brokers = 1;
        int first_topic = 1;
        sigset_t blocked, wait_mask;
        struct sigaction sa;

        if (argc > 1 && strchr(argv[1], ':') == NULL) {
                brokers     = parse_int(argv[1], 1, "broker count");
                first_topic = 2;
        }

        /* Block the stop signals before librdkafka spawns its threads (they
         * inherit the mask), so delivery can only happen inside pselect()
         * below, atomically, with no lost-wakeup window. */
        sigemptyset(&blocked);
        sigaddset(&blocked, SIGTERM);
        sigaddset(&blocked, SIGINT);
        sigprocmask(SIG_BLOCK, &blocked, &wait_mask);
        sigdelset(&wait_mask, SIGTERM);
        sigdelset(&wait_mask, SIGINT);

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        /* A parent that stops reading our stdout must not kill us mid-teardown. */
        signal(SIGPIPE, SIG_IGN);

        /* The mock cluster has to be hosted by some rd_kafka_t; a producer with
         * no bootstrap servers is the cheapest handle that never connects out. */
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        /* Hide the "no bootstrap.servers" notice this handle would print; real
         * warnings and errors (level <= 4) still reach stderr. */
        rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr));
        rd_kafka_t *rk =
            rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "launcher: rd_kafka_new failed: %s\n", errstr);
                return 1;
        }

        rd_kafka_mock_cluster_t *mcluster = rd_kafka_mock_cluster_new(rk, brokers);
        if (!mcluster) {
                fprintf(stderr, "launcher: rd_kafka_mock_cluster_new failed\n");
                rd_kafka_destroy(rk);
                return 1;
        }

        for (int i = first_topic; i < argc; i++) {
                char *spec  = argv[i];
                char *colon = strrchr(spec, ':');
                if (!colon || colon == spec) {
                        fprintf(stderr,
                                "launcher: topic must be name:partitions, got "
                                "'%s'\n",
                                spec);
                        return 2;
                }
                *colon         = '\0';
                int partitions = parse_int(colon + 1, 1, "partition count");
                /* The mock does no real replication, so the factor only matters
                 * for what metadata reports; 1 is valid for any broker count. */
                rd_kafka_resp_err_t err =
                    rd_kafka_mock_topic_create(mcluster, spec, partitions, 1);
                if (err) {
                        fprintf(stderr, "launcher: creating topic %s: %s\n",
                                spec, rd_kafka_err2str(err));
                        return 1;
                }
        }

        /* The parent waits for this line; flush because stdout is a pipe and
         * would otherwise stay block-buffered. */
        printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mcluster));
        fflush(stdout);

        while (!stop_requested) {
                fd_set rfds;
                FD_ZERO(&rfds);
                FD_SET(STDIN_FILENO, &rfds);
                int r = pselect(STDIN_FILENO + 1, &rfds, NULL, NULL, NULL,
                                &wait_mask);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                char buf[256];
                ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
                if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
                        break; /* EOF: the parent went away. */
        }

        rd_kafka_mock_cluster_destroy(mcluster);
        rd_kafka_destroy(rk);
        return 0;
}
