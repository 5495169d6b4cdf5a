package import ImageDecoding

/// The built-in classical segmenter ("builtin-otsu"): Otsu's threshold on a lightly smoothed,
/// illumination-corrected image, 8-connected components, a touching-cell split, outlines.
///
/// The steps, and why:
/// 1. Decode to gray at the file's precision (ImageDecoding); colour through luma.
/// 2. Smooth with a 3 x 3 binomial filter (``Smoothing``): removes pixel noise, keeps edges.
/// 3. Model the background on ~64 px tiles (``Background``), which also fixes the polarity
///    (objects are the minority class; bright objects unless the histograms say otherwise).
///    When the background varies by more than ``Parameters/illuminationTolerance`` of the
///    object/background contrast, subtract it; a flat image is thresholded as it is, so on
///    evenly lit images the result is exactly Otsu's threshold of the smoothed image.
/// 4. Otsu's threshold (``Otsu``, scikit-image's formula), objects on the polarity's side.
/// 5. 8-connected components on runs (``ComponentLabeling``), as scikit-image's `label`.
/// 6. Drop objects smaller than ``Parameters/minimumArea`` pixels (noise, debris).
/// 7. Split touching cells where a component's distance map has separate cores
///    (``TouchingSplit``); convex objects are never split.
/// 8. Outline by marching squares along pixel edges, simplified by Douglas-Peucker
///    (``Outline``); area is the pixel count, the centroid the mean pixel centre.
public enum BuiltinSegmenter {
    public static let modelName = "builtin-otsu"

    /// Segments an encoded image.
    ///
    /// `contentType` is one of "image/png", "image/jpeg", "image/tiff",
    /// "image/x-portable-graymap" (PGM P2/P5, 8 or 16 bit). Malformed or unsupported bytes, and
    /// images above 16384 px a side or 64 Mi pixels (refused from the header, before any pixel
    /// buffer exists), throw a non-retryable ``SegmenterError``. Never traps on any input.
    public static func segment(imageBytes: [UInt8], contentType: String) throws(SegmenterError) -> SegmentationOutcome {
        guard let format = ImageFormat(contentType: contentType) else {
            throw SegmenterError(message: "unsupported content type \"\(contentType)\"", retryable: false)
        }
        let image: GrayImage
        do {
            image = try ImageDecoder.decode(imageBytes, as: format, limits: .standard)
        } catch {
            throw SegmenterError(error)
        }
        return analyze(image).outcome
    }

    /// Segments a decoded image, with what the pipeline decided along the way.
    package static func analyze(_ image: GrayImage, parameters: Parameters = .standard) -> Analysis {
        Pipeline(image: image, parameters: parameters).run()
    }
}

extension BuiltinSegmenter {
    /// The tunable constants of the pipeline.
    package struct Parameters: Sendable, Hashable {
        /// Objects with fewer pixels are dropped (after the split, pieces this small are not cut off).
        package var minimumArea: Int
        /// Douglas-Peucker tolerance for outlines, in pixels.
        package var outlineTolerance: Double
        /// Background variation, as a fraction of the object/background contrast, above which
        /// the background is subtracted before thresholding.
        package var illuminationTolerance: Double
        /// Whether touching cells are split.
        package var splitTouching: Bool

        package init(minimumArea: Int, outlineTolerance: Double, illuminationTolerance: Double, splitTouching: Bool) {
            self.minimumArea = minimumArea
            self.outlineTolerance = outlineTolerance
            self.illuminationTolerance = illuminationTolerance
            self.splitTouching = splitTouching
        }

        package static let standard = Parameters(
            minimumArea: 16, outlineTolerance: 0.5, illuminationTolerance: 0.1, splitTouching: true)
    }

    /// The outcome and the decisions behind it (for the CLI's verbose output and for tests).
    package struct Analysis: Sendable {
        package var outcome: SegmentationOutcome
        /// Otsu's level on the thresholded image; nil for a uniform image (no objects).
        package var threshold: Int?
        package var brightObjects: Bool
        package var backgroundCorrected: Bool
        /// Components before the size filter and the split.
        package var components: Int
        /// Cells that came out of splitting touching components.
        package var splitCells: Int
    }
}

extension SegmenterError {
    /// One exhaustive mapping from the decoders' errors: only a failed allocation may succeed on
    /// a retry.
    init(_ error: ImageDecodingError) {
        switch error {
        case .malformed, .unsupported, .tooLarge: self.init(message: error.description, retryable: false)
        case .outOfMemory: self.init(message: error.description, retryable: true)
        }
    }
}
