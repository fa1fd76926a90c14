/**
 * G2M localization maps from VGG16. The embedding API is {@code g2m.api} (G2mEngine, MapRequest,
 * ImageMaps, Map2D) with the types its methods take or give ({@code Tap}, {@code GradientSource},
 * {@code MapMethod}, {@code Precision}, {@code LoadedImage}, the weights' {@code Checkpoint});
 * {@code g2m.eval} is the WSOL evaluation as a library. The backends' implementations stay inside.
 *
 * <p>Compiled on its own with --release 17 (the parent pom's module-descriptor profile), for Maven's jar tool on JDK 17.
 */
module g2m.engine {
    requires transitive g2m.weights;
    requires transitive com.fasterxml.jackson.databind;   // eval's settings and reports are Jackson trees
    requires transitive org.bytedeco.opencv;              // g2m.image.Mats hands out OpenCV Mats
    requires java.xml;
    requires jdk.unsupported;                             // MatBoxes quiets MFL's sun.misc.Unsafe warning
    requires org.bytedeco.javacpp;
    requires org.bytedeco.openblas;
    requires org.bytedeco.dnnl;
    requires org.bytedeco.cuda;
    requires us.hebi.matlab.mat.mfl.core;

    exports g2m.api;
    exports g2m.net;
    exports g2m.maps;
    exports g2m.image;
    exports g2m.backend;
    exports g2m.overlay;
    exports g2m.npy;
    exports g2m.eval;
}
