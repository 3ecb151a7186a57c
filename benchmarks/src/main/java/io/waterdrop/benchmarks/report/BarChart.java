package io.waterdrop.benchmarks.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.text.DecimalFormat;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.labels.StandardCategoryItemLabelGenerator;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.data.category.DefaultCategoryDataset;

/**
 * A grouped bar chart (categories along the x axis, one bar per series in each) written as a PNG. Runs
 * headless.
 */
public final class BarChart {

	private static final Color[] PALETTE = { new Color(0x4C72B0), new Color(0xDD8452), new Color(0x55A868),
			new Color(0xC44E52), new Color(0x8172B3) };

	private final String title;

	private final String categoryLabel;

	private final String valueLabel;

	private final String valueFormat;

	private final DefaultCategoryDataset dataset = new DefaultCategoryDataset();

	/**
	 * @param valueFormat {@link DecimalFormat} pattern of the value printed above each bar
	 */
	public BarChart(String title, String categoryLabel, String valueLabel, String valueFormat) {
		this.title = title;
		this.categoryLabel = categoryLabel;
		this.valueLabel = valueLabel;
		this.valueFormat = valueFormat;
	}

	public BarChart add(String series, String category, double value) {
		this.dataset.addValue(value, series, category);
		return this;
	}

	public void write(Path file) {
		System.setProperty("java.awt.headless", "true");
		JFreeChart chart = ChartFactory.createBarChart(this.title, this.categoryLabel, this.valueLabel, this.dataset);
		chart.setBackgroundPaint(Color.WHITE);
		CategoryPlot plot = chart.getCategoryPlot();
		plot.setBackgroundPaint(Color.WHITE);
		plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
		plot.setRangeGridlineStroke(new BasicStroke(0.5f));
		plot.setOutlineVisible(false);
		if (this.dataset.getColumnCount() > 4) {
			plot.getDomainAxis().setCategoryLabelPositions(CategoryLabelPositions.UP_45);
		}
		BarRenderer renderer = (BarRenderer) plot.getRenderer();
		renderer.setBarPainter(new StandardBarPainter());
		renderer.setShadowVisible(false);
		renderer.setItemMargin(0.05);
		for (int i = 0; i < this.dataset.getRowCount(); i++) {
			renderer.setSeriesPaint(i, PALETTE[i % PALETTE.length]);
		}
		renderer.setDefaultItemLabelGenerator(
				new StandardCategoryItemLabelGenerator("{2}", new DecimalFormat(this.valueFormat)));
		renderer.setDefaultItemLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 9));
		renderer.setDefaultItemLabelsVisible(true);
		try {
			ChartUtils.saveChartAsPNG(file.toFile(), chart, 1000, 520);
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Could not write chart " + file, ex);
		}
	}

}
