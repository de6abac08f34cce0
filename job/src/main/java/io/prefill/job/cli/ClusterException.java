package io.prefill.job.cli;

/**
 * The cluster cannot run the job as asked: no usable GPU for {@code --backend cuda}, an executor
 * that reports none, CUDA's library missing. Applications exit with {@link Cli#CLUSTER} on it.
 */
public class ClusterException extends IllegalStateException {
    public ClusterException(String message) { super(message); }

    public ClusterException(String message, Throwable cause) { super(message, cause); }
}
