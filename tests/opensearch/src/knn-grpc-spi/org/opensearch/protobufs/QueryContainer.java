package org.opensearch.protobufs;

/**
 * A stand-in for the opensearch-protobufs message that k-NN 3.5's gRPC query converter names in its
 * public methods: the node's injector reflects over a plugin component's methods, which loads every
 * type in their signatures. Nothing calls them here (no gRPC runs).
 */
public final class QueryContainer {
    private QueryContainer() {
    }

    /** Named by `getHandledQueryCase()`. */
    public enum QueryContainerCase {
    }
}
