/// quench's version: the one place it is written. `quench --version`, the Debian package and the man
/// page all read it from here.
public enum QuenchVersion {
    public static let string = "0.1.0"
}
