package g2m.cli;

import g2m.backend.Backends;
import g2m.backend.Precision;
import g2m.maps.MapMethod;
import g2m.net.GradientSource;
import g2m.net.Tap;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * picocli converters for the engine's option values: each parses with the value's own parser
 * ({@link Tap#parse}, {@link MapMethod#parse}, …), whose message names the valid choices, so a
 * bad value is one picocli usage line (exit 2) in every command alike.
 */
final class Converters {
    private Converters() {}

    private interface Parse<T> {
        T apply(String s);
    }

    private static <T> T convert(Parse<T> p, String s) {
        try {
            return p.apply(s);
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException(e.getMessage());
        }
    }

    /** A blank item of a list ("conv5_1,,pool4", "--methods ''") is null here; {@link MapOptions} drops it. */
    static final class TapValue implements ITypeConverter<Tap> {
        public Tap convert(String s) {
            return s.isBlank() ? null : Converters.convert(Tap::parse, s.strip());
        }
    }

    static final class MethodValue implements ITypeConverter<MapMethod> {
        public MapMethod convert(String s) {
            return s.isBlank() ? null : Converters.convert(MapMethod::parse, s.strip());
        }
    }

    static final class GradientsValue implements ITypeConverter<GradientSource> {
        public GradientSource convert(String s) {
            return Converters.convert(GradientSource::parse, s);
        }
    }

    static final class PrecisionValue implements ITypeConverter<Precision> {
        public Precision convert(String s) {
            return Converters.convert(Precision::parse, s);
        }
    }

    /** cpu, cuda or auto, normalized (case, spaces). */
    static final class DeviceValue implements ITypeConverter<String> {
        public String convert(String s) {
            return Converters.convert(Backends::normalize, s);
        }
    }
}
