package io.waterdrop.benchmarks.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.labels.StandardCategoryItemLabelGenerator;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.data.category.DefaultCategoryDataset;

/**
 * A grouped bar chart (one bar per series in each category) written as a PNG; horizontal when the category
 * names are long. Runs headless.
 */
public final class BarChart {

	private static final Color[] PALETTE = { new Color(0x4C72B0), new Color(0xDD8452), new Color(0x55A868),
			new Color(0xC44E52), new Color(0x8172B3), new Color(0x937860), new Color(0xDA8BC3), new Color(0x8C8C8C) };

	private final String title;

	private final String categoryLabel;

	private final String valueLabel;

	private final String valueFormat;

	private final DefaultCategoryDataset dataset = new DefaultCategoryDataset();

	private boolean logarithmic;

	/**
	 * @param valueFormat {@link DecimalFormat} pattern of the value printed above each bar
	 */
	public BarChart(String title, String categoryLabel, String valueLabel, String valueFormat) {
		this.title = title;
		this.categoryLabel = categoryLabel;
		this.valueLabel = valueLabel;
		this.valueFormat = valueFormat;
	}

	/**
	 * Puts the values on a logarithmic axis, for figures spanning orders of magnitude; every value must be
	 * at least 1.
	 */
	public BarChart logarithmic() {
		this.logarithmic = true;
		return this;
	}

	public BarChart add(String series, String category, double value) {
		this.dataset.addValue(value, series, category);
		return this;
	}

	private int longestCategory() {
		int longest = 0;
		for (Object category : this.dataset.getColumnKeys()) {
			longest = Math.max(longest, category.toString().length());
		}
		return longest;
	}

	public void write(Path file) {
		System.setProperty("java.awt.headless", "true");
		// Long category names read better down the side than slanted under the bars.
		PlotOrientation orientation = longestCategory() > 12 ? PlotOrientation.HORIZONTAL : PlotOrientation.VERTICAL;
		JFreeChart chart = ChartFactory.createBarChart(this.title, this.categoryLabel, this.valueLabel, this.dataset,
				orientation, true, false, false);
		chart.setBackgroundPaint(Color.WHITE);
		CategoryPlot plot = chart.getCategoryPlot();
		plot.setBackgroundPaint(Color.WHITE);
		plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
		plot.setRangeGridlineStroke(new BasicStroke(0.5f));
		plot.setOutlineVisible(false);
		plot.getDomainAxis().setMaximumCategoryLabelWidthRatio(0.35f);
		plot.getDomainAxis().setMaximumCategoryLabelLines(2);
		if (this.logarithmic) {
			LogAxis axis = new LogAxis(this.valueLabel + " (log scale)");
			axis.setNumberFormatOverride(new DecimalFormat("#,##0"));
			// One tick per power of ten: round numbers rather than 63,096 and 158,489.
			axis.setTickUnit(new NumberTickUnit(1));
			plot.setRangeAxis(axis);
		}
		// Room for the value printed beyond the longest bar.
		plot.getRangeAxis().setUpperMargin(0.1);
		BarRenderer renderer = (BarRenderer) plot.getRenderer();
		renderer.setBarPainter(new StandardBarPainter());
		renderer.setShadowVisible(false);
		renderer.setItemMargin(0.05);
		if (this.logarithmic) {
			// Bars grow from 1 but the axis starts near the smallest value, not at 1.
			renderer.setBase(1);
			renderer.setIncludeBaseInRange(false);
		}
		for (int i = 0; i < this.dataset.getRowCount(); i++) {
			renderer.setSeriesPaint(i, PALETTE[i % PALETTE.length]);
		}
		renderer.setDefaultItemLabelGenerator(
				new StandardCategoryItemLabelGenerator("{2}", new DecimalFormat(this.valueFormat)));
		renderer.setDefaultItemLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 9));
		renderer.setDefaultItemLabelsVisible(true);
		try {
			Files.createDirectories(file.toAbsolutePath().getParent());
			ChartUtils.saveChartAsPNG(file.toFile(), chart, 1000, (orientation == PlotOrientation.HORIZONTAL) ? 600 : 520);
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Could not write chart " + file, ex);
		}
	}

}
