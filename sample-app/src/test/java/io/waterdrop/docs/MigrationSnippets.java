package io.waterdrop.docs;

import java.util.concurrent.TimeUnit;

import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.support.SendResult;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

import io.waterdrop.DeliveryReport;
import io.waterdrop.Message;
import io.waterdrop.Producer;

/** The Java code of docs/migrating-from-kafkatemplate.md, compiled; see {@link GettingStartedSnippets}. */
final class MigrationSnippets {

	private MigrationSnippets() {
	}

	interface Failures {

		void record(Throwable failure);

	}

	static long templateSync(KafkaTemplate<String, String> template, String orderId, String json) throws Exception {
		SendResult<String, String> result = template.send("orders", orderId, json).get(10, TimeUnit.SECONDS);
		long offset = result.getRecordMetadata().offset();
		return offset;
	}

	static long waterdropSync(Producer orders, String orderId, String json) {
		DeliveryReport report = orders.produceSync(Message.builder("orders").key(orderId).payload(json).build());
		long offset = report.offset();
		return offset;
	}

	static void templateCallback(KafkaTemplate<String, String> template, String line, Failures failures) {
		template.send("audit", line).whenComplete((result, failure) -> failures.record(failure));
	}

	static void waterdropCallback(Producer audit, String line, Failures failures) {
		audit.produceAsync(Message.of("audit", line), (report, failure) -> failures.record(failure));
	}

	static void templateTransaction(KafkaTemplate<String, String> template, String created, String invoice) {
		template.executeInTransaction((operations) -> {
			operations.send("orders", created);
			operations.send("invoices", invoice);
			return null;
		});
	}

	record OrderPlaced(String orderId, int quantity) {
	}

	@Service
	static class TemplateOrderEvents {

		private final JdbcTemplate jdbc;

		private final KafkaTemplate<String, OrderPlaced> template;

		TemplateOrderEvents(JdbcTemplate jdbc, KafkaTemplate<String, OrderPlaced> template) {
			this.jdbc = jdbc;
			this.template = template;
		}

		@Transactional
		public void orderPlaced(OrderPlaced event) {
			this.jdbc.update("insert into orders (id, quantity) values (?, ?)", event.orderId(), event.quantity());
			this.template.send("orders", event.orderId(), event);
		}

	}

	@Service
	static class WaterDropOrderEvents {

		private final JdbcTemplate jdbc;

		private final Producer orders;

		WaterDropOrderEvents(JdbcTemplate jdbc, @Qualifier("orders") Producer orders) {
			this.jdbc = jdbc;
			this.orders = orders;
		}

		@Transactional
		public void orderPlaced(OrderPlaced event) {
			this.jdbc.update("insert into orders (id, quantity) values (?, ?)", event.orderId(), event.quantity());
			this.orders.produceAsync(Message.builder("orders").key(event.orderId()).payload(event).build());
		}

	}

	static void waterdropTransaction(Producer payments, String created, String invoice) {
		payments.transaction((transaction) -> {
			transaction.produceAsync(Message.of("orders", created));
			transaction.produceAsync(Message.of("invoices", invoice));
			return null;
		});
	}

}
