package org.opensearch.transport.grpc.spi;

/**
 * A stand-in for the transport-grpc SPI type that k-NN 3.5's `KNNPlugin.createComponents` links
 * (its gRPC query converter implements it). transport-grpc is not on Maven Central; no gRPC runs in
 * these tests, so nothing calls this.
 */
public interface QueryBuilderProtoConverter {
}
