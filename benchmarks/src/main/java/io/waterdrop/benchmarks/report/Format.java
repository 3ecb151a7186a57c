package io.waterdrop.benchmarks.report;

import java.util.Locale;

import io.waterdrop.benchmarks.stats.MedianEstimate;
import io.waterdrop.benchmarks.support.Summary;

/** How figures appear in the tables: the median, then the range over the repeats in parentheses. */
public final class Format {

	private Format() {
	}

	/** A rate such as {@code 123.4k (98.1k–150.0k)}. */
	public static String rate(Summary summary) {
		return rate(summary.median()) + " (" + rate(summary.min()) + "–" + rate(summary.max()) + ")";
	}

	public static String rate(double perSecond) {
		if (perSecond >= 1e6) {
			return String.format(Locale.ROOT, "%.2fM", perSecond / 1e6);
		}
		if (perSecond >= 1e4) {
			return String.format(Locale.ROOT, "%.1fk", perSecond / 1e3);
		}
		return String.format(Locale.ROOT, "%,.0f", perSecond);
	}

	/** Milliseconds such as {@code 1.23 (0.98–2.10)}. */
	public static String millis(Summary summary) {
		return millis(summary.median()) + " (" + millis(summary.min()) + "–" + millis(summary.max()) + ")";
	}

	public static String millis(double millis) {
		return String.format(Locale.ROOT, (millis < 10) ? "%.2f" : "%.1f", millis);
	}

	/** A ratio such as {@code 0.93× (0.80–1.10)}. */
	public static String ratio(Summary summary) {
		return String.format(Locale.ROOT, "%.2f× (%.2f–%.2f)", summary.median(), summary.min(), summary.max());
	}

	/** A paired ratio with its confidence interval, such as {@code 0.93× [0.90–0.96]}. */
	public static String ratio(MedianEstimate estimate) {
		return String.format(Locale.ROOT, "%.2f× [%.2f–%.2f]", estimate.median(), estimate.lower(), estimate.upper());
	}

	/** A fraction as a percentage such as {@code 98% (95–100%)}. */
	public static String percentage(Summary fraction) {
		return String.format(Locale.ROOT, "%.0f%% (%.0f–%.0f%%)", fraction.median() * 100, fraction.min() * 100,
				fraction.max() * 100);
	}

	/** Microseconds with two decimals, such as {@code 1.23 µs}. */
	public static String micros(double micros) {
		return String.format(Locale.ROOT, "%.2f µs", micros);
	}

	/** Bytes such as {@code 412 B}. */
	public static String bytes(double bytes) {
		return String.format(Locale.ROOT, "%,.0f B", bytes);
	}

	/** Mebibytes with one decimal, such as {@code 12.3}; {@code n/a} for negative (unknown) figures. */
	public static String mebibytesOrUnknown(double bytes) {
		return (bytes < 0) ? "n/a" : mebibytes(bytes);
	}

	/** A relative change such as {@code +12% (−3%…+20%)}. */
	public static String change(Summary ratio) {
		return percent(ratio.median()) + " (" + percent(ratio.min()) + "…" + percent(ratio.max()) + ")";
	}

	private static String percent(double ratio) {
		return String.format(Locale.ROOT, "%+.0f%%", (ratio - 1) * 100).replace('-', '−');
	}

	/** Mebibytes such as {@code 12.3 (10.0–15.1)}; {@code n/a} for negative (unknown) figures. */
	public static String mebibytes(Summary bytes) {
		return mebibytes(bytes.median()) + " (" + mebibytes(bytes.min()) + "–" + mebibytes(bytes.max()) + ")";
	}

	private static String mebibytes(double bytes) {
		return String.format(Locale.ROOT, "%.1f", bytes / (1024 * 1024));
	}

	/** A plain number such as {@code 26} or {@code 26 (25–27)} when it varied. */
	public static String count(Summary summary) {
		if (summary.min() == summary.max()) {
			return String.format(Locale.ROOT, "%.0f", summary.median());
		}
		return String.format(Locale.ROOT, "%.0f (%.0f–%.0f)", summary.median(), summary.min(), summary.max());
	}

	/** The median in bytes, such as {@code 412 B}. */
	public static String bytes(Summary summary) {
		return bytes(summary.median());
	}

}
