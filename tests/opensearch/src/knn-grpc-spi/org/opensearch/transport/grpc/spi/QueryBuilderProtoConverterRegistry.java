package org.opensearch.transport.grpc.spi;

/** A stand-in, as {@link QueryBuilderProtoConverter}: named in a k-NN 3.5 method signature only. */
public interface QueryBuilderProtoConverterRegistry {
}
