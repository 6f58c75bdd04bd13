# CloudWatch alarms for checkout-api: the ALB in front of the EKS ingress and the RDS database.
# Both page through the payments-oncall SNS topic (PagerDuty integration).

resource "aws_cloudwatch_metric_alarm" "checkout_alb_5xx" {
  alarm_name          = "checkout-api-prod-alb-target-5xx"
  alarm_description   = "checkout-api targets return 5xx (ALB view, independent of Prometheus)"
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HTTPCode_Target_5XX_Count"
  statistic           = "Sum"
  comparison_operator = "GreaterThanThreshold"
  threshold           = 25
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  treat_missing_data  = "notBreaching"
  dimensions = {
    LoadBalancer = "app/k8s-prod-checkout-4f1c2a9d0b/6e1f9a2b3c4d5e6f"
  }
  alarm_actions = [aws_sns_topic.payments_oncall.arn]
  ok_actions    = [aws_sns_topic.payments_oncall.arn]
}

resource "aws_cloudwatch_metric_alarm" "checkout_db_cpu" {
  alarm_name          = "checkout-prod-rds-cpu-high"
  alarm_description   = "checkout-prod RDS writer CPU"
  namespace           = "AWS/RDS"
  metric_name         = "CPUUtilization"
  statistic           = "Average"
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 80
  period              = 300
  evaluation_periods  = 3
  dimensions = {
    DBInstanceIdentifier = "checkout-prod"
  }
  alarm_actions = [aws_sns_topic.payments_oncall.arn]
}

resource "aws_cloudwatch_metric_alarm" "checkout_db_connections" {
  alarm_name          = "checkout-prod-rds-connections-high"
  alarm_description   = "checkout-prod connections near max_connections (200)"
  namespace           = "AWS/RDS"
  metric_name         = "DatabaseConnections"
  statistic           = "Maximum"
  comparison_operator = "GreaterThanThreshold"
  threshold           = 180
  period              = 60
  evaluation_periods  = 5
  dimensions = {
    DBInstanceIdentifier = "checkout-prod"
  }
  alarm_actions = [aws_sns_topic.payments_oncall.arn]
}

resource "aws_sns_topic" "payments_oncall" {
  name = "payments-oncall"
}
