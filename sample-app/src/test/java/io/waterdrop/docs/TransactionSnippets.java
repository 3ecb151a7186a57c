package io.waterdrop.docs;

import java.util.List;

import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.annotation.Transactional;

import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.sample.Order;

/**
 * The Spring code of docs/transactions.md, compiled; see {@link GettingStartedSnippets}. What it does is
 * tested by the starter's {@code SpringTransactionIntegrationTests} (H2, the real broker).
 */
final class TransactionSnippets {

	private TransactionSnippets() {
	}

	static class Orders {

		private final JdbcTemplate jdbc;

		private final Producer payments;

		Orders(JdbcTemplate jdbc, @Qualifier("payments") Producer payments) {
			this.jdbc = jdbc;
			this.payments = payments;
		}

		@Transactional
		public void placeOrder(Order order) {
			this.jdbc.update("insert into orders (id, item) values (?, ?)", order.id(), order.item());
			this.payments.produceAsync(Message.builder("orders").key(order.id()).payload(order).build());
		}

		@Transactional("paymentsTransactionManager")
		public void charge(String orderId, List<String> entries) {
			for (String entry : entries) {
				this.payments.produceAsync(Message.builder("ledger").key(orderId).payload(entry).build());
			}
		}

	}

}
