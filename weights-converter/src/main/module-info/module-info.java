/**
 * VGG16 weights: the engine's safetensors format, the PyTorch (.pth) and Caffe (.caffemodel)
 * readers, the converter, the content-addressed cache and the fetcher.
 *
 * <p>Compiled on its own with --release 17 (the parent pom's module-descriptor profile): the classes are release 21, but Maven
 * may run on JDK 17, whose jar tool must read this descriptor when it packs the jar.
 */
module g2m.weights {
    requires com.fasterxml.jackson.databind;
    requires com.google.protobuf;
    requires pickle;                 // Pyrolite's unpickler; its jar names no module, so its file name does

    exports g2m.weights;
    exports g2m.weights.safetensors;
    exports g2m.weights.pytorch;
    exports g2m.weights.caffe;
    exports g2m.weights.fetch;
    exports g2m.weights.caffe.proto to com.google.protobuf;   // generated messages, read reflectively by protobuf
}
