package io.waterdrop.benchmarks.report;

/**
 * Generated Markdown for one block of the report, between its {@code <!-- benchmark:key -->} markers.
 *
 * @param key the block's name
 * @param markdown the block's content
 */
public record ReportBlock(String key, String markdown) {

}
